// SPDX-License-Identifier: Apache-2.0
// File: step_plot.h
// The pipeline picture of `stepsim step --plot FILE.svg`.
#pragma once

#include "stepsim/training_step.h"

#include <string>

namespace stepsim::cli {

/// SVG: one row per pipeline stage, its compute stream's blocks (forward, backward, weight
/// gradient, recompute, optimizer), exposed communication, waits and the bubble shaded, the
/// step time marked; time in ms (s from 2 s). `r` needs its timeline (keeps_timeline).
std::string step_timeline_svg(const StepResult& r, const std::string& title);

}  // namespace stepsim::cli
