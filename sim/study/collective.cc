// SPDX-License-Identifier: Apache-2.0
// File: collective.cc
// The collective study: the request checked against the cluster, then one simulation per size.
#include "stepsim/study/collective.h"

#include "stepsim/error.h"
#include "stepsim/simulator.h"
#include "stepsim/topology.h"

namespace stepsim::study {

CollectiveStudyResult run_collective_study(const Topology& topology,
                                           const CollectiveStudyOptions& options) {
    STEPSIM_CHECK(!options.sizes_bytes.empty(), "the collective study needs a size");
    CollectiveRequest request = options.request;
    request.size_bytes = options.sizes_bytes.front();
    validate_collective_request(request, topology);
    if (request.algorithm != "auto") {
        const CollectiveAlgorithm* algorithm = find_collective_algorithm(request.algorithm);
        if (algorithm == nullptr) {
            throw UserError("unknown collective algorithm \"" + request.algorithm + "\"");
        }
        if (const std::string why = algorithm->unsupported_reason(request, topology);
            !why.empty()) {
            throw UserError(why);
        }
    }
    CollectiveStudyResult result;
    result.topology_file = options.topology_file;
    result.op = request.op;
    result.ranks = request.ranks.size();
    result.algorithm = request.algorithm;
    result.network = options.network;
    result.channels = options.collective.channels;
    Router router(topology);
    for (const std::int64_t size : options.sizes_bytes) {
        request.size_bytes = size;
        Simulator sim(0);
        auto network = make_network_model(options.network, sim, topology, router);
        CollectiveExecutor executor(sim, topology, *network, options.collective);
        CollectiveRow row;
        row.size_bytes = size;
        bool is_done = false;
        row.algorithm = executor.start(request, [&] {
            is_done = true;
            row.time_s = to_seconds(sim.now());
        });
        sim.run();
        STEPSIM_CHECK(is_done, "collective did not finish");
        const GroupCosts costs = group_costs(request, topology, router, options.collective);
        row.analytic_time_s = find_collective_algorithm(row.algorithm)
                                  ->predict_time_s(request, costs, options.collective);
        row.algbw_Bps = row.time_s > 0 ? static_cast<double>(size) / row.time_s : 0.0;
        row.busbw_Bps = row.algbw_Bps * bus_bandwidth_factor(request.op, request.ranks.size());
        result.rows.push_back(std::move(row));
    }
    return result;
}

}  // namespace stepsim::study
