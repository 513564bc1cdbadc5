// SPDX-License-Identifier: Apache-2.0
// File: collective.h
// Collective communication (all-reduce, reduce-scatter, all-gather, broadcast, reduce,
// all-to-all, send/recv) on a group of ranks. An algorithm *plans* the transfers (pure: no
// time, no network state, testable on its own), stored (CommPlan) or generated on demand
// (LazyPlan, the ring); the `CollectiveExecutor` *times* a plan on a NetworkModel, with a
// per-byte reduction cost (gamma) on the GPU.
//
//   CollectiveExecutor executor(sim, topology, network, CollectiveOptions{});
//   executor.start(CollectiveRequest{CollectiveOp::kAllReduce, ranks, 1 << 30}, [&] { ... });
//   sim.run();
#pragma once

#include "stepsim/ids.h"
#include "stepsim/network.h"
#include "stepsim/simulator.h"
#include "stepsim/topology.h"

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stepsim {

enum class CollectiveOp : std::uint8_t {
    kAllReduce,
    kReduceScatter,
    kAllGather,
    kBroadcast,
    kReduce,
    kAllToAll,
    kSendRecv,
};

/// "allreduce", "reducescatter", "allgather", "broadcast", "reduce", "alltoall", "sendrecv"
std::string_view to_string(CollectiveOp op);
/// Inverse of to_string; std::nullopt for an unknown name.
std::optional<CollectiveOp> parse_collective_op(std::string_view name);

struct CollectiveRequest {
    CollectiveOp op = CollectiveOp::kAllReduce;
    /// The group, in ring order. For kSendRecv: exactly {sender, receiver}.
    std::vector<RankId> ranks;
    /// Bytes per rank's full buffer (the nccl-tests convention: for reduce-scatter and
    /// all-gather, the size of the whole gathered buffer; for all-to-all, what each rank sends
    /// in total).
    std::int64_t size_bytes = 0;
    /// Root rank (index into `ranks`) for broadcast and reduce.
    std::size_t root_index = 0;
    /// Algorithm name from the registry ("ring", "tree", "halving_doubling", "direct",
    /// "hierarchical", "pairwise", "hierarchical_alltoall", ...) or "auto" for the lowest
    /// predicted time.
    std::string algorithm = "auto";
    /// All-to-all with uneven volumes (MoE token dispatch under a skewed router): n×n bytes,
    /// row-major, entry i·n + j what group member i sends to member j (the diagonal is not
    /// sent). Empty: every member sends size_bytes / n to every other (the even split).
    std::vector<std::int64_t> pair_bytes = {};

    /// Bytes group member `from` sends to member `to` (pair_bytes, or the even split).
    std::int64_t bytes_between(std::size_t from, std::size_t to) const;
};

struct CollectiveOptions {
    /// Chunk size for pipelining; 0 picks the algorithm's default.
    std::int64_t chunk_bytes = 0;
    /// Parallel rings/trees (channels).
    int channels = 1;
    /// Reduction cost, seconds per byte reduced on one GPU; < 0 derives it from the GPU's
    /// memory bandwidth (read two operands, write one: 3 bytes of HBM traffic per byte).
    double gamma_s_per_byte = -1.0;
    /// HBM bandwidth of the GPUs, used when gamma_s_per_byte < 0; 0 means unknown and takes
    /// the H100 SXM's 3.35 TB/s (docs/models/collectives.md).
    double gpu_memory_bandwidth_Bps = 0.0;
};

/// The H100 SXM's HBM3 bandwidth (NVIDIA H100 datasheet), the default for gamma.
inline constexpr double kDefaultGpuMemoryBandwidth_Bps = 3.35e12;
/// HBM traffic per reduced byte: read both operands, write the sum.
inline constexpr double kReductionTrafficFactor = 3.0;
/// Default pipelining chunk (NCCL's Simple protocol: 4 MiB buffer / NCCL_STEPS = 8).
inline constexpr std::int64_t kDefaultChunkBytes = std::int64_t{512} << 10;

/// gamma in seconds per byte for `options` (its gamma, else 3 bytes of HBM traffic per byte).
double reduction_gamma_s_per_byte(const CollectiveOptions& options);

/// nccl-tests bus-bandwidth factor: busbw = algbw × factor (2(n−1)/n all-reduce; (n−1)/n
/// reduce-scatter, all-gather, all-to-all; 1 broadcast, reduce, send/recv).
double bus_bandwidth_factor(CollectiveOp op, std::size_t group_size);

// ---------------------------------------------------------------------------------------------
// Plans: what an algorithm produces. A CommPlan is a DAG of transfers between group members
// (indices into CollectiveRequest::ranks). The buffer is cut into chunks; a transfer carries a
// contiguous range of chunks; the receiver either reduces them into its copy (costing gamma per
// byte) or overwrites its copy. A transfer starts once all of its dependencies have completed
// (arrived and, when reducing, been reduced).

struct PlanTransfer {
    std::uint32_t src = 0;          ///< sender, index into the group
    std::uint32_t dst = 0;          ///< receiver, index into the group
    std::uint32_t chunk_first = 0;  ///< first chunk carried
    std::uint32_t chunk_count = 1;  ///< chunks carried: [chunk_first, chunk_first + count)
    std::int64_t size_bytes = 0;    ///< sum of the carried chunks' sizes
    std::uint32_t channel = 0;      ///< channel / tree / phase (also the ECMP flow label)
    bool is_reduce = false;         ///< receiver reduces (true) or copies (false)
};

class CommPlan {
public:
    CommPlan() = default;
    CommPlan(CollectiveOp op, std::uint32_t group_size, std::uint32_t root_index = 0);

    CollectiveOp op() const { return op_; }

    std::uint32_t group_size() const { return group_size_; }

    std::uint32_t root_index() const { return root_index_; }

    /// Chunks: size and segment. The segment is the group index whose block of the buffer the
    /// chunk belongs to (reduce-scatter: who ends with it; all-gather: who starts with it;
    /// all-to-all: the receiver), ignored by all-reduce, broadcast and reduce. For all-to-all
    /// `source` is the sender; elsewhere it equals the segment.
    std::uint32_t add_chunk(std::int64_t size_bytes, std::uint32_t segment, std::uint32_t source);

    std::size_t chunk_count() const { return chunk_bytes_.size(); }

    std::int64_t chunk_bytes(std::uint32_t chunk) const { return chunk_bytes_[chunk]; }

    std::uint32_t chunk_segment(std::uint32_t chunk) const { return chunk_segment_[chunk]; }

    std::uint32_t chunk_source(std::uint32_t chunk) const { return chunk_source_[chunk]; }

    /// Appends a transfer of chunks [first, first + count) and returns its index. Every
    /// dependency must be an earlier transfer (so the list is in topological order); size is
    /// the chunks' total. Throws InternalError on a bad index.
    std::uint32_t add_transfer(std::uint32_t src,
                               std::uint32_t dst,
                               std::uint32_t chunk_first,
                               std::uint32_t chunk_count,
                               bool is_reduce,
                               std::uint32_t channel,
                               std::initializer_list<std::uint32_t> dependencies);
    /// As above, with dependencies from a span; invalid (~0u) entries are skipped.
    std::uint32_t add_transfer(std::uint32_t src,
                               std::uint32_t dst,
                               std::uint32_t chunk_first,
                               std::uint32_t chunk_count,
                               bool is_reduce,
                               std::uint32_t channel,
                               std::span<const std::uint32_t> dependencies);

    std::size_t transfer_count() const { return transfers_.size(); }

    const PlanTransfer& transfer(std::uint32_t index) const { return transfers_[index]; }

    std::span<const PlanTransfer> transfers() const { return transfers_; }

    std::span<const std::uint32_t> dependencies(std::uint32_t index) const {
        return std::span<const std::uint32_t>(deps_).subspan(
            dep_begin_[index], dep_begin_[index + 1] - dep_begin_[index]);
    }

    std::size_t dependency_count() const { return deps_.size(); }

    /// Bytes of heap the plan holds (for benchmarks).
    std::size_t memory_bytes() const;
    void reserve(std::size_t transfers, std::size_t dependencies);

    /// Marker for "no dependency" in span form.
    static constexpr std::uint32_t kNone = ~std::uint32_t{0};

private:
    CollectiveOp op_ = CollectiveOp::kAllReduce;
    std::uint32_t group_size_ = 0;
    std::uint32_t root_index_ = 0;
    std::vector<std::int64_t> chunk_bytes_;
    std::vector<std::uint32_t> chunk_segment_;
    std::vector<std::uint32_t> chunk_source_;
    std::vector<PlanTransfer> transfers_;
    std::vector<std::uint32_t> dep_begin_{0};
    std::vector<std::uint32_t> deps_;
};

/// A plan generated on demand: the DAG a CommPlan stores, read one transfer at a time. The
/// executor asks for a transfer when it starts it and for its successors when it completes, so
/// it keeps state only for the transfers pending (some dependency completed) or in flight, and
/// memory follows the transfers in flight, not the size of the plan (a 1 GiB ring all-reduce
/// on 1,024 GPUs stores 2.1 M transfers, 88 MiB). Transfers are numbered in a topological order,
/// as the equivalent stored plan numbers them; an executor given either runs the same
/// transfers at the same times. Implementations are immutable (one may run many times).
class LazyPlan {
public:
    LazyPlan(CollectiveOp op, std::uint32_t group_size, std::uint32_t root_index = 0)
        : op_(op)
        , group_size_(group_size)
        , root_index_(root_index) {}

    virtual ~LazyPlan() = default;

    CollectiveOp op() const { return op_; }

    std::uint32_t group_size() const { return group_size_; }

    std::uint32_t root_index() const { return root_index_; }

    /// Transfers in the plan.
    virtual std::uint64_t transfer_count() const = 0;
    /// Transfer `index` (< transfer_count()).
    virtual PlanTransfer transfer(std::uint64_t index) const = 0;
    /// How many transfers `index` depends on (distinct, all with smaller indices).
    virtual std::uint32_t dependency_count(std::uint64_t index) const = 0;
    /// Replaces `out` with the transfers that depend on `index`, in increasing order (the order
    /// in which the executor starts the ones it makes ready).
    virtual void successors(std::uint64_t index, std::vector<std::uint64_t>& out) const = 0;
    /// Replaces `out` with the transfers without dependencies, in increasing order.
    virtual void sources(std::vector<std::uint64_t>& out) const = 0;
    /// Bytes of heap the plan holds (for benchmarks).
    virtual std::size_t memory_bytes() const = 0;

private:
    CollectiveOp op_;
    std::uint32_t group_size_;
    std::uint32_t root_index_;
};

/// Latency and bandwidth of the group, read off the topology (for closed-form predictions).
struct GroupCosts {
    double alpha_s = 0;           ///< largest route latency between ring neighbours
    double beta_s_per_byte = 0;   ///< 1 / smallest route bottleneck between ring neighbours
    double gamma_s_per_byte = 0;  ///< reduction cost
    /// Two-level view (hierarchical): servers, GPUs of the group per server, and the costs
    /// inside a server and across servers (same local index). nodes == 0: not uniform.
    std::size_t nodes = 0;
    std::size_t ranks_per_node = 0;
    double intra_alpha_s = 0;
    double intra_beta_s_per_byte = 0;
    double inter_alpha_s = 0;
    double inter_beta_s_per_byte = 0;
};

/// One collective algorithm: which transfers, in which order. Pure: no time, no network state.
class CollectiveAlgorithm {
public:
    virtual ~CollectiveAlgorithm() = default;
    /// Registry name: "ring", "tree", "halving_doubling", "recursive_doubling", "direct",
    /// "hierarchical".
    virtual std::string_view name() const = 0;
    /// Empty when the algorithm can run `request` on `topology`, else why not (lower-case,
    /// e.g. "halving_doubling reducescatter needs a power-of-two group, got 6 ranks").
    virtual std::string unsupported_reason(const CollectiveRequest& request,
                                           const Topology& topology) const = 0;
    /// The plan. Throws UserError when unsupported_reason() is not empty.
    CommPlan plan(const CollectiveRequest& request,
                  const Topology& topology,
                  const CollectiveOptions& options) const;

    /// How a pipelined plan cuts the buffer: into `streams` parts of (nearly) equal size
    /// (trees, or channels x blocks), each cut into `pieces` pieces of at most the chunk size
    /// that follow one another through the same pattern of transfers. pieces == 0: the plan is
    /// not such a pipeline (the default).
    struct PipelineShape {
        std::int64_t streams = 0;
        std::int64_t pieces = 0;
    };

    virtual PipelineShape pipeline_shape(const CollectiveRequest& /*request*/,
                                         const CollectiveOptions& /*options*/) const {
        return {};
    }

    /// Whether the algorithm generates its plans on demand (lazy_plan()); false: it only
    /// stores them (plan()).
    virtual bool has_lazy_plan() const { return false; }

    /// The plan generated on demand (the same transfers, numbering and dependencies as
    /// plan()), or nullptr when !has_lazy_plan(). Throws UserError when unsupported_reason()
    /// is not empty.
    std::unique_ptr<const LazyPlan> lazy_plan(const CollectiveRequest& request,
                                              const Topology& topology,
                                              const CollectiveOptions& options) const;
    /// Closed-form time of the plan on uncontended links with `costs` (sim/analytic).
    virtual double predict_time_s(const CollectiveRequest& request,
                                  const GroupCosts& costs,
                                  const CollectiveOptions& options) const = 0;

protected:
    /// The plan of a request that unsupported_reason() accepts (plan() checks first).
    virtual CommPlan make_plan(const CollectiveRequest& request,
                               const Topology& topology,
                               const CollectiveOptions& options) const = 0;

    /// The generated plan of a request that unsupported_reason() accepts, for algorithms
    /// whose has_lazy_plan() is true; the default returns nullptr.
    virtual std::unique_ptr<const LazyPlan> make_lazy_plan(
        const CollectiveRequest& /*request*/,
        const Topology& /*topology*/,
        const CollectiveOptions& /*options*/) const {
        return nullptr;
    }
};

/// The registered algorithms, in name order (not "auto").
std::vector<std::string_view> collective_algorithm_names();
/// The algorithm named `name`, or nullptr. The registry owns it; it lives for the program.
const CollectiveAlgorithm* find_collective_algorithm(std::string_view name);

/// Checks the request against the topology (ranks exist and are distinct, size > 0, root and
/// send/recv shape, pair_bytes only for all-to-all with n×n entries >= 0); throws
/// UserError with a lower-case message otherwise.
void validate_collective_request(const CollectiveRequest& request, const Topology& topology);

/// Reads GroupCosts for the request's group off the topology through `router`.
GroupCosts group_costs(const CollectiveRequest& request,
                       const Topology& topology,
                       Router& router,
                       const CollectiveOptions& options);

/// What `auto` decides: the supporting algorithm with the lowest predicted time (ties: name
/// order), with the prediction. Throws UserError when none supports the request.
struct AlgorithmChoice {
    std::string algorithm;
    double predicted_time_s = 0;
};

AlgorithmChoice choose_collective_algorithm(const CollectiveRequest& request,
                                            const Topology& topology,
                                            const GroupCosts& costs,
                                            const CollectiveOptions& options);

/// Times a plan on a network: each transfer becomes a network transfer between the ranks'
/// GPUs, started when its dependencies completed; a reducing transfer completes gamma·size
/// after it arrived when it is the GPU's only reduction, and reductions that overlap on one
/// GPU (of any plans) share it equally (processor sharing). Many plans may run at once.
/// References must outlive the executor.
class PlanExecutor {
public:
    PlanExecutor(Simulator& sim,
                 const Topology& topology,
                 NetworkModel& network,
                 double gamma_s_per_byte);
    ~PlanExecutor();
    PlanExecutor(const PlanExecutor&) = delete;
    PlanExecutor& operator=(const PlanExecutor&) = delete;

    /// Starts `plan` at now() on `ranks` (group index -> GPU rank); `on_done` fires when every
    /// transfer has completed (after zero time for an empty plan).
    void execute(std::shared_ptr<const CommPlan> plan,
                 std::vector<RankId> ranks,
                 std::function<void()> on_done);
    /// As above for a plan generated on demand: the executor holds a record only for each
    /// transfer pending or in flight. The same times and events as the equivalent CommPlan.
    void execute(std::shared_ptr<const LazyPlan> plan,
                 std::vector<RankId> ranks,
                 std::function<void()> on_done);
    /// Transfers started so far (all plans).
    std::uint64_t transfers_started() const;
    /// Plans running now.
    std::size_t active_plans() const;
    /// Most per-transfer records held at once for generated plans (all of them together),
    /// since construction.
    std::size_t peak_live_transfers() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Times collectives on a network. Many collectives may run at once (they contend on links
/// through the network model). The references must outlive the executor.
class CollectiveExecutor {
public:
    CollectiveExecutor(Simulator& sim,
                       const Topology& topology,
                       NetworkModel& network,
                       CollectiveOptions options = {});
    ~CollectiveExecutor();

    /// Starts the collective at now(); `on_done` fires when every rank has finished. Runs the
    /// algorithm's generated plan when it has one (ring), else its stored plan. Returns the name of
    /// the algorithm used (the one `auto` picked). Throws UserError for an unknown algorithm or a
    /// malformed request.
    std::string start(const CollectiveRequest& request, std::function<void()> on_done);

    /// The algorithm `auto` would pick for this request.
    std::string choose_algorithm(const CollectiveRequest& request) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace stepsim
