/*
 * test_proxmox.c — the C ABI: the Proxmox inventory and route links.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <time.h>

#include "abi_helpers.h"

/* ---- Proxmox ------------------------------------------------------------------------ */

static void check_link(rr_registry *reg, const char *alias, const char *url, bool docker,
                       const char *node, int32_t vmid, const char *vmname) {
    rr_route *r = mk_route(RR_KIND_HTTP, alias, url);
    rr_str n = {NULL, 0}, vn = {NULL, 0};
    int32_t id = -5;
    CHECK_OK(rr_route_set_docker(r, docker));
    CHECK_OK(rr_add(reg, r));
    if (!node) {
        if (rr_route_proxmox(r, &n, &id, &vn) != RR_NOT_FOUND)
            fprintf(stderr, "  %s (%s) linked to %s/%d unexpectedly\n", alias, url, n.ptr, id);
        CHECK(rr_route_proxmox(r, &n, &id, &vn) == RR_NOT_FOUND);
    } else {
        if (rr_route_proxmox(r, &n, &id, &vn) != RR_OK)
            fprintf(stderr, "  %s (%s) not linked\n", alias, url);
        CHECK_OK(rr_route_proxmox(r, &n, &id, &vn));
        CHECK(str_eq(n, node));
        CHECK(id == vmid);
        CHECK(str_eq(vn, vmname));
        CHECK_OK(rr_route_proxmox(r, NULL, NULL, NULL));
    }
    rr_route_release(r);
}

static void t_proxmox(void) {
    static const char inv[] =
        "{\"nodes\":[{\"name\":\"pve1\",\"ip\":\"10.0.0.2\"},{\"name\":\"pve2\"},"
        "{\"name\":\"lo\",\"ip\":\"127.0.0.1\"},{\"name\":\"any\",\"ip\":\"0.0.0.0\"}],"
        "\"resources\":[{\"node\":\"pve1\",\"vmid\":100,\"name\":\"web\",\"ips\":[\"10.0.0.50\",\"fd00::50\"]},"
        "{\"node\":\"pve2\",\"vmid\":101,\"name\":\"db\",\"ips\":[\"10.0.0.60\"],\"extra\":true}],"
        "\"unknown\":1}";
    static const char *const bad[] = {
        "{not json",
        "[]",
        "{\"nodes\":[{\"ip\":\"10.0.0.3\"}]}",
        "{\"nodes\":[{\"name\":\"\"}]}",
        "{\"nodes\":[{\"name\":\"n\",\"ip\":\"not-an-ip\"}]}",
        "{\"resources\":[{\"node\":\"pve1\",\"vmid\":\"100\",\"name\":\"web\"}]}",
        "{\"resources\":[{\"node\":\"pve1\",\"vmid\":1.5,\"name\":\"web\"}]}",
        "{\"resources\":[{\"node\":\"pve1\",\"name\":\"web\"}]}",
        "{\"nodes\":{}}",
    };
    static const char *const bad_names[] = {
        "JSON", "object", "name", "name", "not-an-ip", "vmid", "vmid", "vmid", "nodes",
    };
    rr_registry *reg = rr_registry_new();
    rr_route *r;
    rr_str n, vn;
    int32_t id;
    uint64_t g;
    size_t i;

    g = rr_generation(reg);
    CHECK_OK(rr_proxmox_load_json(reg, inv, sizeof inv - 1));
    CHECK(rr_generation(reg) != g);

    check_link(reg, "a1", "http://10.0.0.2:8006", false, "pve1", 0, "");     /* node by IP */
    check_link(reg, "a2", "https://pve2.lan:8006", false, "pve2", 0, "");    /* node by label */
    check_link(reg, "pve2", "http://192.0.2.1:80", false, "pve2", 0, "");    /* node by alias */
    check_link(reg, "a3", "http://10.0.0.50:80", false, "pve1", 100, "web"); /* resource by IP */
    check_link(reg, "a4", "http://[fd00::50]:80", false, "pve1", 100, "web");
    check_link(reg, "a5", "tcp://db.internal:5432", false, "pve2", 101, "db"); /* by label */
    check_link(reg, "web", "http://192.0.2.2:80", false, "pve1", 100, "web");  /* by alias */
    check_link(reg, "a6", "http://10.0.0.50:80", true, NULL, 0, NULL);        /* docker: never */
    check_link(reg, "a7", "http://127.0.0.1:80", false, NULL, 0, NULL);       /* loopback */
    check_link(reg, "a8", "http://0.0.0.0:80", false, NULL, 0, NULL);         /* unspecified */
    check_link(reg, "a9", "http://PVE2.lan:80", false, NULL, 0, NULL);        /* case-sensitive */
    check_link(reg, "a10", "http://192.0.2.9:80", false, NULL, 0, NULL);

    /* Explicit links: vmname from the inventory. */
    r = mk_route(RR_KIND_HTTP, "e1", "http://192.0.2.3:80");
    CHECK_OK(rr_route_set_proxmox(r, S("pve2"), 101));
    CHECK_OK(rr_route_proxmox(r, &n, &id, &vn));
    CHECK(str_eq(n, "pve2") && id == 101);
    CHECK_OK(rr_add(reg, r));
    CHECK_OK(rr_route_proxmox(r, &n, &id, &vn));
    CHECK(str_eq(n, "pve2") && id == 101 && str_eq(vn, "db"));
    rr_route_release(r);
    r = mk_route(RR_KIND_HTTP, "e2", "http://10.0.0.50:80"); /* explicit beats matching */
    CHECK_OK(rr_route_set_proxmox(r, S("pve1"), 0));
    CHECK_OK(rr_add(reg, r));
    CHECK_OK(rr_route_proxmox(r, &n, &id, &vn));
    CHECK(str_eq(n, "pve1") && id == 0 && str_eq(vn, ""));
    rr_route_release(r);

    /* Bad inventories: RR_INVALID_ARGUMENT naming the problem; the old one stays. */
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        g = rr_generation(reg);
        CHECK(rr_proxmox_load_json(reg, bad[i], strlen(bad[i])) == RR_INVALID_ARGUMENT);
        CHECK(last_error_has(bad_names[i]));
        CHECK(rr_generation(reg) == g);
    }
    CHECK(rr_proxmox_load_json(reg, S("{\"nodes\":[{\"name\":\"\xff\"}]}")) == RR_INVALID_ARGUMENT);
    check_link(reg, "b1", "http://10.0.0.60:80", false, "pve2", 101, "db");

    /* An empty inventory: nothing links. */
    CHECK_OK(rr_proxmox_load_json(reg, S("{}")));
    check_link(reg, "b2", "http://10.0.0.60:80", false, NULL, 0, NULL);
    rr_registry_free(reg);
}

void test_proxmox(void) {
    t_proxmox();
}
