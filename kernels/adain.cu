/* adain: adaptive instance normalisation (StyleGAN), forward and backward.

   Forward, for every plane p = n*C + c of L = H*W elements:

       mean = sum(x) / L;   var = sum((x - mean)^2) / L;   rstd = 1 / sqrt(var + eps)
       y    = (x - mean) * rstd * scale[p] + bias[p]

   Backward, with xhat = (x - mean) * rstd (mean and rstd saved by the forward):

       dbias[p]  = sum(dy);   dscale[p] = sum(dy * xhat)
       dx        = scale[p] * rstd * (dy - dbias[p] / L - xhat * dscale[p] / L)

   Layouts (contiguous): x, y, dy, dx [N, C, H, W] seen as [P, L]; scale, bias, dscale,
   dbias [N, C] seen as [P]; mean, rstd [P].

   Thread mapping: one block per plane (gridDim.x = P), blockDim.x a power of two from 32 to
   256 chosen by the Python side. Each thread strides over the plane (i = tid, tid + blockDim,
   ...), accumulating partial sums; a shared-memory tree reduces them (same order every run,
   so results are deterministic); then the threads write their own elements of y / dx.
   Thread 0 writes the per-plane values.

   Must match: minigan.ops.adain.adain_reference.
*/

#define MAX_BLOCK 256

/* Sum of v over the block; every thread gets the total. blockDim.x must be a power of two. */
template <typename T>
__device__ T block_sum(T v, T* shared) {
    shared[threadIdx.x] = v;
    __syncthreads();
    for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
        if ((int)threadIdx.x < stride) shared[threadIdx.x] += shared[threadIdx.x + stride];
        __syncthreads();
    }
    T total = shared[0];
    __syncthreads();  /* everyone has read shared[0] before the buffer is used again */
    return total;
}

template <typename T>
__device__ void adain_fwd_impl(const T* __restrict__ x, const T* __restrict__ scale,
                               const T* __restrict__ bias, T* __restrict__ y,
                               T* __restrict__ mean_out, T* __restrict__ rstd_out, int L,
                               T eps) {
    __shared__ T shared[MAX_BLOCK];
    long long p = blockIdx.x;
    const T* x_plane = x + p * L;
    T* y_plane = y + p * L;

    T partial = T(0);
    for (int i = threadIdx.x; i < L; i += blockDim.x) partial += x_plane[i];
    T mean = block_sum(partial, shared) / T(L);

    partial = T(0);
    for (int i = threadIdx.x; i < L; i += blockDim.x) {
        T d = x_plane[i] - mean;
        partial += d * d;
    }
    T rstd = T(1) / sqrt(block_sum(partial, shared) / T(L) + eps);

    T a = scale[p] * rstd;
    T b = bias[p];
    for (int i = threadIdx.x; i < L; i += blockDim.x) y_plane[i] = (x_plane[i] - mean) * a + b;
    if (threadIdx.x == 0) {
        mean_out[p] = mean;
        rstd_out[p] = rstd;
    }
}

template <typename T>
__device__ void adain_bwd_impl(const T* __restrict__ x, const T* __restrict__ dy,
                               const T* __restrict__ scale, const T* __restrict__ mean_in,
                               const T* __restrict__ rstd_in, T* __restrict__ dx,
                               T* __restrict__ dscale, T* __restrict__ dbias, int L) {
    __shared__ T shared[MAX_BLOCK];
    long long p = blockIdx.x;
    const T* x_plane = x + p * L;
    const T* dy_plane = dy + p * L;
    T* dx_plane = dx + p * L;
    T mean = mean_in[p];
    T rstd = rstd_in[p];

    T partial_dy = T(0), partial_dy_xhat = T(0);
    for (int i = threadIdx.x; i < L; i += blockDim.x) {
        partial_dy += dy_plane[i];
        partial_dy_xhat += dy_plane[i] * (x_plane[i] - mean) * rstd;
    }
    T sum_dy = block_sum(partial_dy, shared);
    T sum_dy_xhat = block_sum(partial_dy_xhat, shared);

    T a = scale[p] * rstd;
    T mean_dy = sum_dy / T(L);
    T mean_dy_xhat = sum_dy_xhat / T(L);
    for (int i = threadIdx.x; i < L; i += blockDim.x)
        dx_plane[i] = a * (dy_plane[i] - mean_dy - (x_plane[i] - mean) * rstd * mean_dy_xhat);
    if (threadIdx.x == 0) {
        dbias[p] = sum_dy;
        dscale[p] = sum_dy_xhat;
    }
}

extern "C" __global__ void adain_fwd_f32(const float* x, const float* scale, const float* bias,
                                         float* y, float* mean, float* rstd, int L, float eps) {
    adain_fwd_impl<float>(x, scale, bias, y, mean, rstd, L, eps);
}

extern "C" __global__ void adain_fwd_f64(const double* x, const double* scale,
                                         const double* bias, double* y, double* mean,
                                         double* rstd, int L, double eps) {
    adain_fwd_impl<double>(x, scale, bias, y, mean, rstd, L, eps);
}

extern "C" __global__ void adain_bwd_f32(const float* x, const float* dy, const float* scale,
                                         const float* mean, const float* rstd, float* dx,
                                         float* dscale, float* dbias, int L) {
    adain_bwd_impl<float>(x, dy, scale, mean, rstd, dx, dscale, dbias, L);
}

extern "C" __global__ void adain_bwd_f64(const double* x, const double* dy, const double* scale,
                                         const double* mean, const double* rstd, double* dx,
                                         double* dscale, double* dbias, int L) {
    adain_bwd_impl<double>(x, dy, scale, mean, rstd, dx, dscale, dbias, L);
}
