// SPDX-License-Identifier: Apache-2.0
// File: checkpoint_plot.h
// `stepsim checkpoint --plot FILE.svg`: goodput against checkpoint interval, one curve per
// failure rate (with its 95% band), the best interval and Young's and Daly's marked.
#pragma once

#include "stepsim/failures.h"

#include <string>
#include <vector>

namespace stepsim::cli {

/// A self-contained SVG document (no scripts, no external fonts). `optima[i]`, when given, is
/// study i's optimum to mark (the refined one); else the grid's best is marked.
std::string goodput_plot_svg(const std::vector<RateStudy>& studies,
                             RunTime step_time,
                             const std::vector<SweepPoint>& optima = {});

}  // namespace stepsim::cli
