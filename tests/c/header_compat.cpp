// header_compat.cpp — the header compiles as C++17 (-Wall -Wextra -Wpedantic -Werror) and
// links; run, it checks a few derived values against the library.
#include "route_registry.h"

#include <cstdio>
#include <cstring>
#include <type_traits>

static_assert(std::is_same<rr_status, uint32_t>::value, "rr_status is a plain integer");
static_assert(std::is_same<rr_kind, uint32_t>::value, "rr_kind is a plain integer");
static_assert(sizeof(rr_str) == sizeof(const char *) + sizeof(size_t), "rr_str is {ptr, len}");
static_assert(RR_OK == 0 && RR_NOT_FOUND == 1 && RR_INVALID_ARGUMENT == 2 && RR_KEPT == 3 &&
                  RR_FROZEN == 4 && RR_PANIC == 255,
              "status numbers are fixed");
static_assert(RR_KIND_HTTP == 0 && RR_KIND_STREAM == 1 && RR_KIND_EXCLUDED == 2, "kinds");
static_assert(RR_HEALTH_STATUS_UNKNOWN == 0 && RR_HEALTH_STATUS_HEALTHY == 1 &&
                  RR_HEALTH_STATUS_NAPPING == 2 && RR_HEALTH_STATUS_STARTING == 4 &&
                  RR_HEALTH_STATUS_UNHEALTHY == 8 && RR_HEALTH_STATUS_ERROR == 16,
              "health status bits");
static_assert(RR_HEALTH_FULL == 0 && RR_HEALTH_WITHOUT_DETAIL == 1 && RR_HEALTH_SIMPLE == 2, "formats");
static_assert(RR_LOG_OFF == 0 && RR_LOG_TRACE == 5, "log levels");

int main() {
    rr_route *r = nullptr;
    if (rr_abi_version() != RR_ABI_VERSION) {
        std::fprintf(stderr, "ABI %u != header %u\n", rr_abi_version(), RR_ABI_VERSION);
        return 1;
    }
    if (rr_route_new(RR_KIND_HTTP, "cxx", 3, "http://[::1]:8080", 17, &r) != RR_OK) return 1;
    rr_str host = rr_route_upstream_host(r);
    bool ok = host.len == 3 && std::strcmp(host.ptr, "::1") == 0;
    rr_route_release(r);
    std::printf("header_compat (C++17): %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
