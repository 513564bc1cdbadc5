// SPDX-License-Identifier: Apache-2.0
// File: trace_test_traces.h
// Hand-made recorded timelines for the trace tests: a two-stage Megatron pipeline whose
// recorded times follow from its durations (so the expected replay is known), gzip output,
// scratch files.
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <sstream>
#include <string>
#include <vector>
#include <zlib.h>

namespace stepsim::test {

/// One recorded op, as the StragglerAnalysis timelines write it.
inline std::string megatron_event(const std::string& name,
                                  int dp,
                                  int tid,
                                  double ts_us,
                                  double dur_us,
                                  int step,
                                  int seq,
                                  int mb = -1) {
    std::ostringstream e;
    e << std::setprecision(17) << "{\"name\":\"" << name << "\",\"cat\":\"" << name
      << "\",\"pid\":" << dp << ",\"tid\":" << tid << ",\"ts\":" << ts_us << ",\"dur\":" << dur_us
      << ",\"ph\":\"X\",\"args\":{\"step\":" << step << ",\"model_chunk\":-1,\"mb_id\":" << mb
      << ",\"seq_id\":" << seq << "}}";
    return e.str();
}

/// Track id of (pp, stream) on a DP rank: 5 streams per stage.
inline int megatron_tid(int pp, int stream) {
    return pp * 5 + stream;
}

/// The metadata events naming the tracks of `dp_ranks` DP ranks of a 2-stage pipeline.
inline std::vector<std::string> megatron_metadata(int dp_ranks) {
    const char* streams[] = {"compute", "pp-comm", "tp-comm", "dp-comm", "misc"};
    std::vector<std::string> events;
    for (int dp = 0; dp < dp_ranks; ++dp) {
        for (int pp = 0; pp < 2; ++pp) {
            for (int s = 0; s < 5; ++s) {
                events.push_back("{\"name\":\"thread_name\",\"pid\":" + std::to_string(dp) +
                                 ",\"tid\":" + std::to_string(megatron_tid(pp, s)) +
                                 ",\"ph\":\"M\",\"args\":{\"name\":\"PP rank " +
                                 std::to_string(pp) + ", TP rank 0, " + streams[s] + "\"}}");
            }
        }
        events.push_back("{\"name\":\"process_name\",\"pid\":" + std::to_string(dp) +
                         ",\"ph\":\"M\",\"args\":{\"name\":\"DP rank [" + std::to_string(dp) +
                         "]\"}}");
    }
    return events;
}

/// Milliseconds: the unit of the hand-made timelines (Megatron's cross-stream slack is 50 us).
constexpr double kMs = 1000;

/// A 2-stage, 2-DP-rank job, one micro-batch per step, `steps` steps 1 s apart. Forward
/// takes 10 ms and backward 20 ms times `factor(dp, pp)`; every transfer takes 1 ms (pipeline)
/// or 5 ms (DP reduce-scatter), the optimizer 3 ms. The recorded times are what Megatron would
/// record: a receive and a collective start when their op is issued and end when the transfer
/// ends, so they include the wait for the peer.
inline std::vector<std::string> megatron_ops(int steps,
                                             const std::function<double(int, int)>& factor) {
    std::vector<std::string> events;
    for (int step = 0; step < steps; ++step) {
        const double t0 = 1000 * kMs * step;
        double ready[2][2] = {};  // [pp][dp]: backward done
        for (int dp = 0; dp < 2; ++dp) {
            const double f0 = 10 * kMs * factor(dp, 0);
            const double b0 = 20 * kMs * factor(dp, 0);
            const double f1 = 10 * kMs * factor(dp, 1);
            const double b1 = 20 * kMs * factor(dp, 1);
            events.push_back(
                megatron_event("forward-compute", dp, megatron_tid(0, 0), t0, f0, step, 0, 0));
            events.push_back(
                megatron_event("forward-send", dp, megatron_tid(0, 1), t0 + f0, kMs, step, 0));
            events.push_back(
                megatron_event("forward-recv", dp, megatron_tid(1, 1), t0, f0 + kMs, step, 0));
            const double start1 = t0 + f0 + kMs;
            events.push_back(
                megatron_event("forward-compute", dp, megatron_tid(1, 0), start1, f1, step, 0, 0));
            events.push_back(megatron_event("backward-compute", dp, megatron_tid(1, 0), start1 + f1,
                                            b1, step, 0, 0));
            const double sent = start1 + f1 + b1;
            events.push_back(
                megatron_event("backward-send", dp, megatron_tid(1, 1), sent, kMs, step, 0));
            events.push_back(megatron_event("backward-recv", dp, megatron_tid(0, 1), start1,
                                            sent + kMs - start1, step, 0));
            events.push_back(megatron_event("backward-compute", dp, megatron_tid(0, 0), sent + kMs,
                                            b0, step, 0, 0));
            ready[0][dp] = sent + kMs + b0;
            ready[1][dp] = sent;
        }
        for (int pp = 0; pp < 2; ++pp) {
            const double start = std::max(ready[pp][0], ready[pp][1]);
            for (int dp = 0; dp < 2; ++dp) {
                events.push_back(megatron_event("grads-reduce-scatter", dp, megatron_tid(pp, 3),
                                                ready[pp][dp], start + 5 * kMs - ready[pp][dp],
                                                step, 0));
                events.push_back(megatron_event("optimizer", dp, megatron_tid(pp, 0),
                                                start + 5 * kMs, 3 * kMs, step, 0));
            }
        }
    }
    return events;
}

inline std::string json_array(const std::vector<std::string>& events) {
    std::string text = "[";
    for (std::size_t i = 0; i < events.size(); ++i) {
        text += (i == 0 ? "\n" : ",\n") + events[i];
    }
    return text + "\n]\n";
}

/// The whole trace: metadata first, then the ops.
inline std::string megatron_trace(int steps, const std::function<double(int, int)>& factor) {
    std::vector<std::string> events = megatron_metadata(2);
    for (std::string& op : megatron_ops(steps, factor)) {
        events.push_back(std::move(op));
    }
    return json_array(events);
}

inline std::string gzip(const std::string& text) {
    z_stream stream{};
    REQUIRE(deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                         Z_DEFAULT_STRATEGY) == Z_OK);
    std::string out(deflateBound(&stream, static_cast<uLong>(text.size())) + 64, '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    stream.avail_in = static_cast<uInt>(text.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&stream, Z_FINISH) == Z_STREAM_END);
    out.resize(stream.total_out);
    deflateEnd(&stream);
    return out;
}

/// A fresh path in a folder of its own per test file (ctest runs cases in parallel).
inline std::filesystem::path scratch(const std::string& folder, const std::string& name) {
    const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                      ("stepsim_" + folder) / std::filesystem::path(name).stem();
    std::filesystem::create_directories(dir);
    const std::filesystem::path path = dir / name;
    std::filesystem::remove(path);
    return path;
}

inline void write_text(const std::filesystem::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    REQUIRE(out.good());
}

}  // namespace stepsim::test
