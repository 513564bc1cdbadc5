// SPDX-License-Identifier: Apache-2.0
// File: failure_model.cc
// Failure classes and models: mean times to failure, the cluster's mean time between
// interruptions (the superposition of renewal processes has rate Σ count/MTTF in the long
// run), time scaling, validation, and component counts from a topology.
#include "stepsim/error.h"
#include "stepsim/failures.h"
#include "stepsim/topology.h"

#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>

namespace stepsim {

std::string_view to_string(ComponentKind kind) {
    switch (kind) {
        case ComponentKind::kGpu:
            return "gpu";
        case ComponentKind::kHost:
            return "host";
        case ComponentKind::kNic:
            return "nic";
        case ComponentKind::kSwitch:
            return "switch";
        case ComponentKind::kLink:
            return "link";
        case ComponentKind::kJob:
            return "job";
    }
    return "unknown";
}

std::optional<std::int64_t> ComponentCounts::count(ComponentKind kind) const {
    switch (kind) {
        case ComponentKind::kGpu:
            return gpus;
        case ComponentKind::kHost:
            return hosts;
        case ComponentKind::kNic:
            return nics;
        case ComponentKind::kSwitch:
            return switches;
        case ComponentKind::kLink:
            return links;
        case ComponentKind::kJob:
            return 1;
    }
    return std::nullopt;
}

ComponentCounts component_counts(const Topology& topology) {
    ComponentCounts counts;
    counts.gpus = static_cast<std::int64_t>(topology.gpu_count());
    counts.hosts = static_cast<std::int64_t>(topology.host_count());
    std::int64_t nics = 0;
    std::int64_t switches = 0;
    for (std::size_t i = 0; i < topology.node_count(); ++i) {
        const Node& node = topology.node(NodeId{static_cast<std::uint32_t>(i)});
        if (node.kind == NodeKind::kNic) {
            ++nics;
        } else if (node.kind == NodeKind::kSwitch) {
            ++switches;
        }
    }
    // A cable is a duplex pair of directed network links: count unordered device pairs once
    // per direction pair (parallel cables between the same two devices count separately).
    std::int64_t network_links = 0;
    for (std::size_t i = 0; i < topology.link_count(); ++i) {
        const Link& link = topology.link(LinkId{static_cast<std::uint32_t>(i)});
        if (link.kind == LinkKind::kInfiniBand || link.kind == LinkKind::kEthernet) {
            ++network_links;
        }
    }
    counts.nics = nics;
    counts.switches = switches;
    counts.links = (network_links + 1) / 2;
    return counts;
}

double FailureClass::mean_time_to_failure_s() const {
    if (distribution == FailureDistribution::kExponential) {
        return mtbf_s;
    }
    return weibull_scale_s * std::tgamma(1.0 + 1.0 / weibull_shape);
}

FailureModel FailureModel::cluster_mtbf(double mtbf_s) {
    FailureModel model;
    FailureClass cluster;
    cluster.name = "cluster";
    cluster.count = 1;
    cluster.distribution = FailureDistribution::kExponential;
    cluster.mtbf_s = mtbf_s;
    cluster.needs_replacement = false;
    model.classes.push_back(std::move(cluster));
    return model;
}

double FailureModel::cluster_mtbf_s() const {
    double rate_per_s = 0;
    for (const FailureClass& c : classes) {
        if (c.count > 0) {
            rate_per_s += static_cast<double>(c.count) / c.mean_time_to_failure_s();
        }
    }
    return rate_per_s > 0 ? 1.0 / rate_per_s : std::numeric_limits<double>::infinity();
}

FailureModel FailureModel::scaled_to_cluster_mtbf(double mtbf_s) const {
    if (!(mtbf_s > 0) || !std::isfinite(mtbf_s)) {
        throw UserError("cluster MTBF must be positive and finite, got " + std::to_string(mtbf_s) +
                        " s");
    }
    const double current = cluster_mtbf_s();
    if (!std::isfinite(current)) {
        throw UserError("cannot scale a failure model without failures to MTBF " +
                        std::to_string(mtbf_s) + " s");
    }
    const double factor = mtbf_s / current;
    FailureModel scaled = *this;
    for (FailureClass& c : scaled.classes) {
        c.mtbf_s *= factor;
        c.weibull_scale_s *= factor;
    }
    return scaled;
}

bool FailureModel::has_weibull() const {
    for (const FailureClass& c : classes) {
        if (c.count > 0 && c.distribution == FailureDistribution::kWeibull) {
            return true;
        }
    }
    return false;
}

void FailureModel::validate() const {
    std::set<std::string, std::less<>> names;
    for (const FailureClass& c : classes) {
        const std::string where = "failure class \"" + c.name + "\": ";
        if (c.name.empty()) {
            throw UserError("failure class with an empty name");
        }
        if (!names.insert(c.name).second) {
            throw UserError(where + "name used twice");
        }
        if (c.count < 0) {
            throw UserError(where + "count must be >= 0, got " + std::to_string(c.count));
        }
        if (c.distribution == FailureDistribution::kExponential) {
            if (!(c.mtbf_s > 0) || !std::isfinite(c.mtbf_s)) {
                throw UserError(where + "MTBF must be positive, got " + std::to_string(c.mtbf_s) +
                                " s");
            }
        } else {
            if (!(c.weibull_shape > 0) || !std::isfinite(c.weibull_shape)) {
                throw UserError(where + "Weibull shape must be > 0, got " +
                                std::to_string(c.weibull_shape));
            }
            if (!(c.weibull_scale_s > 0) || !std::isfinite(c.weibull_scale_s)) {
                throw UserError(where + "Weibull scale must be positive, got " +
                                std::to_string(c.weibull_scale_s) + " s");
            }
        }
    }
}

}  // namespace stepsim
