/*
 * fake_provider_main.c - the fake model provider as a standalone program,
 * for benchmarks that drive it from other clients (e.g. the official Node
 * SDK) and for poking at it by hand:
 *
 *   fake-provider [--port N] [--delay-ms D] [--script FILE] [--api-key K]
 *
 * Prints "http://127.0.0.1:PORT" on stdout (one line, flushed) once it
 * accepts connections, then serves until SIGINT or SIGTERM.  Without a
 * script every request gets the deterministic echo reply.
 *
 * DESIGN
 * The main thread blocks SIGINT/SIGTERM before the server thread starts (so
 * only sigwait sees them), starts the provider and waits for a signal; all
 * serving happens on the provider's server thread.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/fake_provider.h"

static void usage(void)
{
    fprintf(stderr,
            "usage: fake-provider [--port N] [--delay-ms D] [--script FILE] [--api-key K]\n");
}

static int parse_num(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || errno || v > max) return -1;
    *out = v;
    return 0;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) break;
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1) break;
        cap *= 2;
        char *nb = realloc(buf, cap);
        if (!nb) {
            free(buf);
            buf = NULL;
        }
        buf = nb;
    }
    int err = ferror(f);
    fclose(f);
    if (!buf || err) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

int main(int argc, char **argv)
{
    fake_provider_opts o = {.no_auth_check = 1};
    const char *script = NULL;
    for (int i = 1; i < argc; i++) {
        unsigned long v;
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--port") && val && parse_num(val, 65535, &v) == 0) {
            o.port = (uint16_t)v;
        } else if (!strcmp(a, "--delay-ms") && val && parse_num(val, 3600000, &v) == 0) {
            o.default_delay_ms = (uint32_t)v;
        } else if (!strcmp(a, "--script") && val) {
            script = val;
        } else if (!strcmp(a, "--api-key") && val) {
            o.api_key = val;
            o.no_auth_check = 0;
        } else {
            fprintf(stderr, "fake-provider: bad or incomplete argument '%s'\n", a);
            usage();
            return 2;
        }
        i++;
    }

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    fake_provider *fp = fake_provider_start(&o);
    if (!fp) {
        fprintf(stderr, "fake-provider: cannot listen on 127.0.0.1:%u: %s\n", (unsigned)o.port,
                strerror(errno));
        return 1;
    }
    if (script) {
        char *text = read_file(script);
        char err[256];
        if (!text) {
            fprintf(stderr, "fake-provider: %s: %s\n", script, strerror(errno));
            fake_provider_stop(fp);
            return 1;
        }
        if (fake_provider_load_script(fp, text, err, sizeof err) != 0) {
            fprintf(stderr, "fake-provider: %s: %s\n", script, err);
            free(text);
            fake_provider_stop(fp);
            return 1;
        }
        free(text);
    }
    printf("%s\n", fake_provider_url(fp));
    fflush(stdout);

    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "fake-provider: %zu requests served\n", fake_provider_count(fp));
    fake_provider_stop(fp);
    return 0;
}
