/*
 * LD_PRELOAD shim for user-mode Linux 6.1 (Debian's linux.uml) on hosts with a large XSAVE area.
 *
 * UML saves and restores its guest processes' FPU/vector state with
 * ptrace(PTRACE_GETREGSET/SETREGSET, NT_X86_XSTATE) using a buffer sized at build time (2696 bytes,
 * enough for AVX-512). The host kernel refuses a SETREGSET whose size is not its whole XSAVE size
 * (11008 bytes with Intel AMX) with EFAULT, and UML panics at the first guest process. This shim pads
 * such a SETREGSET to the host's size: UML's bytes first, the AMX components marked as in their
 * initial state (guest processes never get AMX permission, so there is nothing to keep).
 * Upstream UML later sized the buffer at run time; this is only needed for the 6.1 kernel.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>

#define XSAVE_HEADER_OFFSET 512
#define AMX_FEATURES ((1ULL << 17) | (1ULL << 18)) /* XTILECFG, XTILEDATA */

static unsigned char padded[65536] __attribute__((aligned(64)));
static size_t host_xstate_size;

typedef long (*ptrace_fn)(enum __ptrace_request, ...);

long ptrace(enum __ptrace_request request, ...) {
  va_list ap;
  va_start(ap, request);
  pid_t pid = va_arg(ap, pid_t);
  void *addr = va_arg(ap, void *);
  void *data = va_arg(ap, void *);
  va_end(ap);

  static ptrace_fn real;
  if (!real) real = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");

  if (request == PTRACE_SETREGSET && (uintptr_t)addr == NT_X86_XSTATE && data != NULL) {
    struct iovec *iov = data;
    if (host_xstate_size == 0) {
      /* A GETREGSET into a large buffer reports the host's XSAVE size in iov_len. */
      struct iovec probe = {padded, sizeof padded};
      if (real(PTRACE_GETREGSET, pid, addr, &probe) == 0) host_xstate_size = probe.iov_len;
    }
    if (host_xstate_size > iov->iov_len && host_xstate_size <= sizeof padded && iov->iov_len >= XSAVE_HEADER_OFFSET + 8) {
      uint64_t xfeatures;
      memset(padded, 0, host_xstate_size);
      memcpy(padded, iov->iov_base, iov->iov_len);
      memcpy(&xfeatures, padded + XSAVE_HEADER_OFFSET, sizeof xfeatures);
      xfeatures &= ~AMX_FEATURES;
      memcpy(padded + XSAVE_HEADER_OFFSET, &xfeatures, sizeof xfeatures);
      struct iovec full = {padded, host_xstate_size};
      return real(request, pid, addr, &full);
    }
  }
  return real(request, pid, addr, data);
}
