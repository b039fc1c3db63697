// Argument checks shared by every op. Each message names the op, the argument,
// what was expected and what was given.
#pragma once

#include <string>

#include "host_device.h"
#include "tensor_ops.h"

namespace ood_ext {

// t.dim() == rank.
void check_rank(const char* op, const char* name, const Tensor& t, int64_t rank);
// t.size(dim) == expected; `what` says where the expected size comes from (e.g. "D from x").
void check_size(const char* op, const char* name, const Tensor& t, int64_t dim, int64_t expected,
                const char* what);
// float32 or float64.
void check_floating(const char* op, const char* name, const Tensor& t);
// Same dtype and device as the reference argument.
void check_like(const char* op, const char* name, const Tensor& t, const char* ref_name, const Tensor& ref);
// True when t has no NaN or ±inf (synchronises on CUDA).
bool all_finite(const Tensor& t);
// The largest |value| of a finite tensor (synchronises on CUDA).
double value_magnitude(const Tensor& t);
// No NaN or ±inf (synchronises on CUDA).
void check_finite(const char* op, const char* name, const Tensor& t);
// Every element > 0 (strict) or ≥ 0; `what` completes the message "<name> must be ...".
void check_positive(const char* op, const char* name, const Tensor& t, bool strict, const char* what);
// At least one row in dimension `dim`.
void check_nonempty(const char* op, const char* name, const Tensor& t, int64_t dim);
// reduce ∈ {"none", "max", "logsumexp"}.
Reduce parse_reduce(const char* op, const std::string& reduce);

}  // namespace ood_ext
