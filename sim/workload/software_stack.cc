// SPDX-License-Identifier: Apache-2.0
// File: software_stack.cc
// Named software stacks: the settings a Megatron release turned on by default, and the one
// fitted constants per (GPU, stack) (docs/models/compute.md §5, docs/validation.md).
#include "stepsim/workload.h"

namespace stepsim {

std::string_view to_string(SoftwareStack stack) {
    switch (stack) {
        case SoftwareStack::kCustom:
            return "custom";
        case SoftwareStack::kMegatronLm2021:
            return "megatron_lm_2021";
        case SoftwareStack::kMegatronCore2024:
            return "megatron_core_2024";
        case SoftwareStack::kMegatronDeepSpeed2022:
            return "megatron_deepspeed_2022";
    }
    return "?";
}

void apply_stack_defaults(TrainingJob& job) {
    TrainingConfig& t = job.training;
    ParallelLayout& l = job.layout;
    switch (job.stack) {
        case SoftwareStack::kCustom:
            break;
        case SoftwareStack::kMegatronLm2021:
        case SoftwareStack::kMegatronDeepSpeed2022:
            // Megatron-LM as of SC'21 (and until mid-2023): scale-mask-softmax attention, the
            // DDP all-reduce after the backward, batched blocking p2p, scatter/gather of
            // pipeline messages, no distributed optimizer.
            t.is_flash_attention = false;
            l.zero_stage = 0;
            l.is_grad_reduce_overlapped = false;
            l.is_param_gather_overlapped = false;
            l.is_tp_comm_overlapped = false;
            l.is_p2p_overlapped = false;
            l.is_p2p_scatter_gather = true;
            if (job.stack == SoftwareStack::kMegatronDeepSpeed2022) {
                // The same kernels and communication under DeepSpeed's pipeline engine (its
                // own 1F1B interpreter) and ZeRO-1 (MT-NLG, BLOOM).
                t.pipeline_op_overhead_s = kDeepSpeedPipelineOpOverheadS;
                l.zero_stage = 1;
            }
            break;
        case SoftwareStack::kMegatronCore2024:
            // Megatron-Core with Transformer Engine as NVIDIA's 2024 recipes run it: flash /
            // cuDNN fused attention, --use-distributed-optimizer, --overlap-grad-reduce,
            // --overlap-param-gather, --tp-comm-overlap (where sequence parallelism is on),
            // overlapped p2p (default on since 2023-10).
            t.is_flash_attention = true;
            l.zero_stage = 1;
            l.is_grad_reduce_overlapped = true;
            l.is_param_gather_overlapped = true;
            l.is_tp_comm_overlapped = true;
            l.is_p2p_overlapped = true;
            l.is_p2p_scatter_gather = true;
            break;
    }
}

void apply_stack_gpu_constants(SoftwareStack stack, GpuSpec& gpu) {
    if (stack == SoftwareStack::kMegatronCore2024 && gpu.mamf_fraction_fp8 > 0.0) {
        gpu.fp8_gemm_fraction = gpu.mamf_fraction_fp8 * kMegatronCoreFp8SustainedFractionOfMamf;
    }
}

AttentionKernel default_attention_kernel(SoftwareStack stack, const GpuSpec& gpu) {
    const bool has_flash3 = gpu.flash3.max_fraction_d128 > 0.0;
    return stack == SoftwareStack::kMegatronCore2024 && has_flash3 ? AttentionKernel::kFlash3
                                                                   : AttentionKernel::kFlash2;
}

}  // namespace stepsim
