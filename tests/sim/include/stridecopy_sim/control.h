/* stridecopy_sim/control.h — what tests ask the CUDA runtime simulator beyond the CUDA API: its seed,
 * the reports it made, fault injection, and an operation that takes a set time. Plain C, so that
 * Python reaches it through ctypes. */
#ifndef STRIDECOPY_SIM_CONTROL_H
#define STRIDECOPY_SIM_CONTROL_H

#include <cuda_runtime_api.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 1: the CUDA runtime of this process is the simulator. */
int stridecopy_sim_active(void);

/* The seed of the random delays (STRIDECOPY_SIM_SEED), for replaying a failure. */
unsigned long long stridecopy_sim_seed(void);

/* The reports made since the last call (undefined behaviour and misuse the simulator caught), which
 * then no longer fail the process at exit. Copies their text, one per line, into buffer (at most
 * size - 1 bytes and a NUL; buffer may be NULL when size is 0). Returns how many there were. */
long stridecopy_sim_take_reports(char* buffer, size_t size);

/* Makes the nth call from now (1: the next one) of the CUDA function named `api` return `error`
 * (cudaErrorUnknown when 0); api NULL or "*" counts every CUDA call. Calls from the simulator's own
 * threads do not count. */
void stridecopy_sim_fail(const char* api, long nth, int error);
/* Forgets every pending fault. */
void stridecopy_sim_clear_faults(void);

/* CUDA calls made so far by host code: of `api`, or of every function when api is NULL. */
long stridecopy_sim_calls(const char* api);

/* Queues on `stream` an operation that takes `microseconds` (as a kernel that spins would). */
cudaError_t stridecopy_sim_sleep(cudaStream_t stream, unsigned microseconds);

/* The largest random delay before each operation on a stream, in microseconds (initially
 * STRIDECOPY_SIM_DELAY_US). Returns the previous value. */
unsigned stridecopy_sim_set_max_delay(unsigned microseconds);

#ifdef __cplusplus
}
#endif

#endif
