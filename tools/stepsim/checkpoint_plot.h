// SPDX-License-Identifier: Apache-2.0
// File: checkpoint_plot.h
// `stepsim checkpoint --plot FILE.svg`: goodput against checkpoint interval, one curve per
// failure rate (with its 95% band), the best interval and Young's and Daly's marked.
#pragma once

#include "stepsim/scenario.h"

#include <string>
#include <vector>

namespace stepsim::cli {

/// A self-contained SVG document (no scripts, no external fonts).
std::string goodput_plot_svg(const std::vector<RateStudy>& studies, RunTime step_time);

}  // namespace stepsim::cli
