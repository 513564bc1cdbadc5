// SPDX-License-Identifier: Apache-2.0
// File: network_model.cc
// make_network_model(): the one place that maps a NetworkKind to its implementation; its name.
#include "stepsim/error.h"
#include "stepsim/network.h"

#include "alpha_beta_network.h"
#include "fair_share_network.h"

#include <stdexcept>
#include <string>

namespace stepsim {

std::string_view to_string(NetworkKind kind) {
    switch (kind) {
        case NetworkKind::kAlphaBeta:
            return "alpha_beta";
        case NetworkKind::kFairShare:
            return "fair_share";
    }
    throw InternalError("to_string: unknown network kind " +
                        std::to_string(static_cast<int>(kind)));
}

std::unique_ptr<NetworkModel> make_network_model(NetworkKind kind,
                                                 Simulator& sim,
                                                 const Topology& topology,
                                                 Router& router) {
    switch (kind) {
        case NetworkKind::kAlphaBeta:
            return std::make_unique<AlphaBetaNetwork>(sim, topology, router);
        case NetworkKind::kFairShare:
            return std::make_unique<FairShareNetwork>(sim, topology, router);
    }
    throw InternalError("make_network_model: unknown network kind " +
                        std::to_string(static_cast<int>(kind)));
}

}  // namespace stepsim
