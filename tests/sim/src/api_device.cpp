// tests/sim/src/api_device.cpp — devices and errors: the device count (STRIDECOPY_SIM_DEVICES), the
// current device per host thread, an H100 SXM's attributes and properties (memory: the simulated
// arena), device-wide synchronisation, and the error functions.
#include <cstring>
#include <string>

#include "state.hpp"

using namespace stridecopy_sim::detail;

namespace {

struct error_name {
  cudaError_t code;
  const char* name;
  const char* text;
};
constexpr error_name error_names[] = {
#include "error_names.inc"
};

const error_name* find_error(cudaError_t e) {
  for (const error_name& n : error_names)
    if (n.code == e) return &n;
  return nullptr;
}

/// An H100 SXM5's attributes, as the CUDA 13 runtime reports them; -1 for attributes it has none of.
bool h100_attribute(cudaDeviceAttr attr, int device, int& value) {
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: value = 1024; return true;
    case cudaDevAttrMaxBlockDimX: value = 1024; return true;
    case cudaDevAttrMaxBlockDimY: value = 1024; return true;
    case cudaDevAttrMaxBlockDimZ: value = 64; return true;
    case cudaDevAttrMaxGridDimX: value = 2147483647; return true;
    case cudaDevAttrMaxGridDimY: value = 65535; return true;
    case cudaDevAttrMaxGridDimZ: value = 65535; return true;
    case cudaDevAttrMaxSharedMemoryPerBlock: value = 49152; return true;
    case cudaDevAttrTotalConstantMemory: value = 65536; return true;
    case cudaDevAttrWarpSize: value = 32; return true;
    case cudaDevAttrMaxPitch: value = 2147483647; return true;
    case cudaDevAttrMaxRegistersPerBlock: value = 65536; return true;
    case cudaDevAttrTextureAlignment: value = 512; return true;
    case cudaDevAttrGpuOverlap: value = 1; return true;
    case cudaDevAttrMultiProcessorCount: value = 132; return true;
    case cudaDevAttrKernelExecTimeout: value = 0; return true;
    case cudaDevAttrIntegrated: value = 0; return true;
    case cudaDevAttrCanMapHostMemory: value = 1; return true;
    case cudaDevAttrComputeMode: value = 0; return true;
    case cudaDevAttrConcurrentKernels: value = 1; return true;
    case cudaDevAttrEccEnabled: value = 1; return true;
    case cudaDevAttrPciBusId: value = 0x18 + device; return true;
    case cudaDevAttrPciDeviceId: value = 0; return true;
    case cudaDevAttrPciDomainId: value = 0; return true;
    case cudaDevAttrTccDriver: value = 0; return true;
    case cudaDevAttrGlobalMemoryBusWidth: value = 5120; return true;
    case cudaDevAttrL2CacheSize: value = 52428800; return true;
    case cudaDevAttrMaxThreadsPerMultiProcessor: value = 2048; return true;
    case cudaDevAttrAsyncEngineCount: value = 3; return true;
    case cudaDevAttrUnifiedAddressing: value = 1; return true;
    case cudaDevAttrComputeCapabilityMajor: value = 9; return true;
    case cudaDevAttrComputeCapabilityMinor: value = 0; return true;
    case cudaDevAttrStreamPrioritiesSupported: value = 1; return true;
    case cudaDevAttrGlobalL1CacheSupported: value = 1; return true;
    case cudaDevAttrLocalL1CacheSupported: value = 1; return true;
    case cudaDevAttrMaxSharedMemoryPerMultiprocessor: value = 233472; return true;
    case cudaDevAttrMaxRegistersPerMultiprocessor: value = 65536; return true;
    case cudaDevAttrManagedMemory: value = 1; return true;
    case cudaDevAttrIsMultiGpuBoard: value = 0; return true;
    case cudaDevAttrMultiGpuBoardGroupID: value = device; return true;
    case cudaDevAttrHostNativeAtomicSupported: value = 0; return true;
    case cudaDevAttrPageableMemoryAccess: value = 0; return true;
    case cudaDevAttrConcurrentManagedAccess: value = 1; return true;
    case cudaDevAttrComputePreemptionSupported: value = 1; return true;
    case cudaDevAttrCanUseHostPointerForRegisteredMem: value = 1; return true;
    case cudaDevAttrCooperativeLaunch: value = 1; return true;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: value = 232448; return true;
    case cudaDevAttrCanFlushRemoteWrites: value = 0; return true;
    case cudaDevAttrHostRegisterSupported: value = 1; return true;
    case cudaDevAttrPageableMemoryAccessUsesHostPageTables: value = 0; return true;
    case cudaDevAttrDirectManagedMemAccessFromHost: value = 0; return true;
    case cudaDevAttrMaxBlocksPerMultiprocessor: value = 32; return true;
    case cudaDevAttrMaxPersistingL2CacheSize: value = 32505856; return true;
    case cudaDevAttrMaxAccessPolicyWindowSize: value = 134213632; return true;
    case cudaDevAttrReservedSharedMemoryPerBlock: value = 1024; return true;
    case cudaDevAttrSparseCudaArraySupported: value = 1; return true;
    case cudaDevAttrHostRegisterReadOnlySupported: value = 1; return true;
    case cudaDevAttrMemoryPoolsSupported: value = 1; return true;
    case cudaDevAttrGPUDirectRDMASupported: value = 1; return true;
    case cudaDevAttrMemoryPoolSupportedHandleTypes: value = 9; return true;
    case cudaDevAttrClusterLaunch: value = 1; return true;
    case cudaDevAttrDeferredMappingCudaArraySupported: value = 1; return true;
    case cudaDevAttrIpcEventSupport: value = 1; return true;
    case cudaDevAttrMemSyncDomainCount: value = 4; return true;
    case cudaDevAttrMpsEnabled: value = 0; return true;
    default: return false;
  }
}

}  // namespace

extern "C" {

cudaError_t cudaGetDeviceCount(int* count) {
  if (cudaError_t e = enter("cudaGetDeviceCount")) return e;
  if (!count) return fail(cudaErrorInvalidValue);
  *count = g().config.devices;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  if (cudaError_t e = enter("cudaGetDevice")) return e;
  if (!device) return fail(cudaErrorInvalidValue);
  *device = self().device;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  if (cudaError_t e = enter("cudaSetDevice")) return e;
  if (device < 0 || device >= g().config.devices) return fail(cudaErrorInvalidDevice);
  self().device = device;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (cudaError_t e = enter("cudaDeviceGetAttribute")) return e;
  if (!value) return fail(cudaErrorInvalidValue);
  if (device < 0 || device >= g().config.devices) return fail(cudaErrorInvalidDevice);
  if (!h100_attribute(attr, device, *value)) {
    std::lock_guard<std::mutex> lock(g().m);
    report_once("attr|" + std::to_string(int(attr)),
                "cudaDeviceGetAttribute: the simulator has no value for attribute " + std::to_string(int(attr)));
    return fail(cudaErrorInvalidValue);
  }
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int device) {
  if (cudaError_t e = enter("cudaGetDeviceProperties")) return e;
  if (!p) return fail(cudaErrorInvalidValue);
  if (device < 0 || device >= g().config.devices) return fail(cudaErrorInvalidDevice);
  std::memset(p, 0, sizeof *p);
  std::strncpy(p->name, "stridecopy CUDA simulator (H100 SXM model)", sizeof p->name - 1);
  p->uuid.bytes[0] = char(0x5c);
  p->uuid.bytes[15] = char(device);
  p->totalGlobalMem = g().config.device_memory;
  p->sharedMemPerBlock = 49152;
  p->regsPerBlock = 65536;
  p->warpSize = 32;
  p->memPitch = 2147483647;
  p->maxThreadsPerBlock = 1024;
  p->maxThreadsDim[0] = 1024;
  p->maxThreadsDim[1] = 1024;
  p->maxThreadsDim[2] = 64;
  p->maxGridSize[0] = 2147483647;
  p->maxGridSize[1] = 65535;
  p->maxGridSize[2] = 65535;
  p->totalConstMem = 65536;
  p->major = 9;
  p->minor = 0;
  p->textureAlignment = 512;
  p->texturePitchAlignment = 32;
  p->multiProcessorCount = 132;
  p->canMapHostMemory = 1;
  p->concurrentKernels = 1;
  p->ECCEnabled = 1;
  p->pciBusID = 0x18 + device;
  p->asyncEngineCount = 3;
  p->unifiedAddressing = 1;
  p->memoryBusWidth = 5120;
  p->l2CacheSize = 52428800;
  p->persistingL2CacheMaxSize = 32505856;
  p->maxThreadsPerMultiProcessor = 2048;
  p->streamPrioritiesSupported = 1;
  p->globalL1CacheSupported = 1;
  p->localL1CacheSupported = 1;
  p->sharedMemPerMultiprocessor = 233472;
  p->regsPerMultiprocessor = 65536;
  p->managedMemory = 1;
  p->multiGpuBoardGroupID = device;
  p->concurrentManagedAccess = 1;
  p->computePreemptionSupported = 1;
  p->canUseHostPointerForRegisteredMem = 1;
  p->cooperativeLaunch = 1;
  p->sharedMemPerBlockOptin = 232448;
  p->maxBlocksPerMultiProcessor = 32;
  p->accessPolicyMaxWindowSize = 134213632;
  p->reservedSharedMemPerBlock = 1024;
  p->hostRegisterSupported = 1;
  p->memoryPoolsSupported = 1;
  p->clusterLaunch = 1;
  p->unifiedFunctionPointers = 1;
  p->deviceNumaId = -1;
  p->hostNumaId = -1;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetStreamPriorityRange(int* least, int* greatest) {
  if (cudaError_t e = enter("cudaDeviceGetStreamPriorityRange")) return e;
  if (least) *least = 0;
  if (greatest) *greatest = -5;
  return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total) {
  if (cudaError_t e = enter("cudaMemGetInfo")) return e;
  if (!free_bytes || !total) return fail(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(g().m);
  const arena& a = current_device().mem;
  *total = a.size;
  *free_bytes = a.size - a.used;
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() {
  if (cudaError_t e = enter("cudaDeviceSynchronize")) return e;
  std::unique_lock<std::mutex> lock(g().m);
  if (cudaError_t e = unsafe_call_check("cudaDeviceSynchronize")) return e;
  const int device = self().device;
  std::vector<op_ptr> targets;
  for (const auto& s : g().streams)
    if (s->device == device && s->last && !s->cap) targets.push_back(s->last);
  for (const op_ptr& o : targets) wait_for(lock, o);
  return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int* version) {
  if (cudaError_t e = enter("cudaDriverGetVersion")) return e;
  if (!version) return fail(cudaErrorInvalidValue);
  *version = 13000;
  return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int* version) {
  if (cudaError_t e = enter("cudaRuntimeGetVersion")) return e;
  if (!version) return fail(cudaErrorInvalidValue);
  *version = 13000;
  return cudaSuccess;
}

cudaError_t cudaGetLastError() {
  initialise();
  const cudaError_t e = self().last_error;
  self().last_error = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError() {
  initialise();
  return self().last_error;
}

const char* cudaGetErrorName(cudaError_t e) {
  const error_name* n = find_error(e);
  return n ? n->name : "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t e) {
  const error_name* n = find_error(e);
  return n ? n->text : "unrecognized error code";
}

}  // extern "C"
