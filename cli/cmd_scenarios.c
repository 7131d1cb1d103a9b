/*
 * cmd_scenarios.c - `seer scenarios list|show|validate|tags`: browse and
 * check the seed-instruction library and any seed file a run would use.
 *
 *   seer scenarios list [--seeds SEL]... [--tag T]... [--json | --petri]
 *   seer scenarios show ID... [--seeds SEL]... [--json]
 *   seer scenarios validate [PATH...] [--strict]
 *   seer scenarios tags [--seeds SEL]...
 *
 * SEL is what `seer audit --seeds` takes (an id, tag:NAME, all, a file, or a
 * comma list of those); the library directory is $SEER_SCENARIOS_DIR or the
 * one seer was built/installed with (--dir overrides both).
 *
 * DESIGN
 *
 * Runs on the main thread only, starts no pipeline.  Everything is loaded
 * through scenarios/scenario.h, so these commands see exactly what a run
 * would see: if `validate` passes, `--seeds` with the same files loads.
 * Every problem is printed as file:line[:col]: message on stderr and the
 * exit status is 1; usage errors exit 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "scenarios/scenario.h"

int seer_cmd_scenarios(int argc, char **argv);

#define CMD "scenarios"

/* Prints what went wrong: every problem, or the error when there were none
 * recorded.  Returns SEER_EXIT_FAIL. */
static int report(const seer_scenario_problems *probs, const seer_error *err)
{
    if (probs->n)
        seer_scenario_problems_print(probs, stderr);
    else
        fprintf(stderr, "seer %s: %s\n", CMD, err->msg);
    return SEER_EXIT_FAIL;
}

static void join_tags(const seer_scenario *sc, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sc->n_tags && o + 1 < cap; i++) {
        int w = snprintf(buf + o, cap - o, "%s%s", i ? "," : "", sc->tags[i]);
        if (w < 0) break;
        o += (size_t)w;
    }
}

static cJSON *scenario_json(const seer_scenario *sc)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *tags = cJSON_AddArrayToObject(o, "tags");
    cJSON_AddStringToObject(o, "id", sc->id);
    for (size_t i = 0; i < sc->n_tags; i++)
        cJSON_AddItemToArray(tags, cJSON_CreateString(sc->tags[i]));
    cJSON_AddStringToObject(o, "instruction", sc->instruction);
    cJSON_AddStringToObject(o, "file", sc->file);
    cJSON_AddNumberToObject(o, "line", sc->line);
    return o;
}

/* Prints arr (taking it) as indented JSON.  Returns an exit status. */
static int print_json(cJSON *arr)
{
    char *s = cJSON_Print(arr);
    cJSON_Delete(arr);
    if (!s) {
        fprintf(stderr, "seer %s: out of memory\n", CMD);
        return SEER_EXIT_FAIL;
    }
    puts(s);
    free(s);
    return SEER_EXIT_OK;
}

/* Loads the selection for list/show/tags.  Returns 0 or an exit status. */
static int select_seeds(const seer_cli_list *seeds, const char *dir, seer_scenarios *out)
{
    seer_scenario_problems probs = {0};
    seer_error err;
    seer_err rc = seer_scenarios_select(seeds->items, seeds->n, dir, out, &probs, &err);
    int status = rc == SEER_OK ? 0 : report(&probs, &err);
    seer_scenario_problems_free(&probs);
    return status;
}

static int cmd_list(int argc, char **argv)
{
    seer_cli_list seeds = {0}, tags = {0};
    const char *dir = NULL;
    int json = 0, petri = 0;
    const seer_cli_opt opts[] = {
        {"seeds", 's', SEER_CLI_LIST, &seeds, "SEL",
         "id, tag:NAME, all, FILE or a comma list "
         "(repeatable; default all)",
         0, 0},
        {"tag", 't', SEER_CLI_LIST, &tags, "T",
         "keep only scenarios with this tag (repeatable: "
         "all of them)",
         0, 0},
        {"json", 0, SEER_CLI_BOOL, &json, NULL, "print a JSON list", 0, 0},
        {"petri", 0, SEER_CLI_BOOL, &petri, NULL,
         "print a JSON list of instruction strings (Petri's seed-list form)", 0, 0},
        {"dir", 0, SEER_CLI_STR, &dir, "DIR",
         "library directory (default $SEER_SCENARIOS_DIR "
         "or the built-in one)",
         0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const char *pos[1];
    size_t n_pos;
    int rc = seer_cli_parse(CMD " list",
                            "seer scenarios list [--seeds SEL]... [--tag T]... "
                            "[--json | --petri]",
                            opts, argc, argv, pos, 0, &n_pos);
    if (rc) return rc == 1 ? SEER_EXIT_OK : rc;
    if (json && petri)
        return seer_cli_usage_error(CMD " list", "--json and --petri are two different lists: "
                                                 "pick one");
    json |= petri;
    for (size_t i = 0; i < tags.n; i++) {
        char buf[80];
        if (!seer_scenario_tag_normalize(tags.items[i], buf, sizeof buf))
            return seer_cli_usage_error(CMD " list", "bad tag name '%s'", tags.items[i]);
    }
    seer_scenarios sel = {0};
    if ((rc = select_seeds(&seeds, dir, &sel)) != 0) return rc;
    /* keep[i]: scenario i passes every --tag; columns sized to what is shown */
    char *keep = calloc(sel.n ? sel.n : 1, 1);
    if (!keep) {
        seer_scenarios_free(&sel);
        fprintf(stderr, "seer %s: out of memory\n", CMD);
        return SEER_EXIT_FAIL;
    }
    size_t shown = 0, id_w = 2, tag_w = 4;
    for (size_t i = 0; i < sel.n; i++) {
        keep[i] = 1;
        for (size_t t = 0; t < tags.n && keep[i]; t++)
            keep[i] = (char)seer_scenario_has_tag(&sel.v[i], tags.items[t]);
        if (!keep[i]) continue;
        shown++;
        char tbuf[256];
        join_tags(&sel.v[i], tbuf, sizeof tbuf);
        if (strlen(sel.v[i].id) > id_w) id_w = strlen(sel.v[i].id);
        if (strlen(tbuf) > tag_w) tag_w = strlen(tbuf) > 48 ? 48 : strlen(tbuf);
    }
    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    for (size_t i = 0; i < sel.n; i++) {
        const seer_scenario *sc = &sel.v[i];
        if (!keep[i]) continue;
        if (json) {
            cJSON_AddItemToArray(arr,
                                 petri ? cJSON_CreateString(sc->instruction) : scenario_json(sc));
            continue;
        }
        char tbuf[256], first[80];
        join_tags(sc, tbuf, sizeof tbuf);
        size_t n = strcspn(sc->instruction, "\n");
        if (n > 72)
            snprintf(first, sizeof first, "%.69s...", sc->instruction);
        else
            snprintf(first, sizeof first, "%.*s", (int)n, sc->instruction);
        printf("%-*s  %-*s  %s\n", (int)id_w, sc->id, (int)tag_w, tbuf, first);
    }
    free(keep);
    seer_scenarios_free(&sel);
    if (json) return print_json(arr);
    fprintf(stderr, "%zu scenario%s\n", shown, shown == 1 ? "" : "s");
    return SEER_EXIT_OK;
}

static int cmd_show(int argc, char **argv)
{
    seer_cli_list seeds = {0};
    const char *dir = NULL;
    int json = 0;
    const seer_cli_opt opts[] = {
        {"seeds", 's', SEER_CLI_LIST, &seeds, "SEL",
         "look the ids up in this selection "
         "(default: the library)",
         0, 0},
        {"json", 0, SEER_CLI_BOOL, &json, NULL, "print a JSON list", 0, 0},
        {"dir", 0, SEER_CLI_STR, &dir, "DIR", "library directory", 0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const char *pos[64];
    size_t n_pos;
    int rc = seer_cli_parse(CMD " show", "seer scenarios show ID... [--seeds SEL]... [--json]",
                            opts, argc, argv, pos, 64, &n_pos);
    if (rc) return rc == 1 ? SEER_EXIT_OK : rc;
    if (n_pos == 0) return seer_cli_usage_error(CMD " show", "which scenario? give an ID");
    seer_scenarios sel = {0};
    if ((rc = select_seeds(&seeds, dir, &sel)) != 0) return rc;
    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    int status = SEER_EXIT_OK;
    for (size_t i = 0; i < n_pos; i++) {
        const seer_scenario *sc = seer_scenarios_find(&sel, pos[i]);
        if (!sc) {
            fprintf(stderr, "seer %s show: no scenario '%s' (see 'seer scenarios list')\n", CMD,
                    pos[i]);
            status = SEER_EXIT_FAIL;
            continue;
        }
        if (json) {
            cJSON_AddItemToArray(arr, scenario_json(sc));
            continue;
        }
        char tbuf[512];
        join_tags(sc, tbuf, sizeof tbuf);
        printf("%s## %s\ntags: %s\nsource: %s:%d\n\n%s\n", i ? "\n" : "", sc->id, tbuf, sc->file,
               sc->line, sc->instruction);
    }
    seer_scenarios_free(&sel);
    if (json) {
        if (status != SEER_EXIT_OK) {
            cJSON_Delete(arr);
            return status;
        }
        return print_json(arr);
    }
    return status;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int cmd_validate(int argc, char **argv)
{
    int strict = 0;
    const seer_cli_opt opts[] = {
        {"strict", 0, SEER_CLI_BOOL, &strict, NULL,
         "also fail on unknown tags and untagged "
         "seeds",
         0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const char *pos[64];
    size_t n_pos;
    int rc = seer_cli_parse(CMD " validate", "seer scenarios validate [PATH...] [--strict]", opts,
                            argc, argv, pos, 64, &n_pos);
    if (rc) return rc == 1 ? SEER_EXIT_OK : rc;
    if (n_pos == 0) {
        pos[0] = seer_scenarios_default_dir();
        n_pos = 1;
    }
    seer_scenarios all = {0};
    seer_scenario_problems probs = {0};
    seer_error err;
    int failed = 0, oom = 0;
    for (size_t i = 0; i < n_pos; i++) {
        seer_err r = is_dir(pos[i]) ? seer_scenarios_load_dir(pos[i], &all, &probs, &err)
                                    : seer_scenarios_load_file(pos[i], &all, &probs, &err);
        if (r != SEER_OK) failed = 1;
        if (r == SEER_ENOMEM) oom = 1;
    }
    if (seer_scenarios_check_unique(&all, &probs, &err) != SEER_OK) failed = 1;
    seer_scenario_problems_print(&probs, stderr);
    size_t warnings = 0;
    if (strict) {
        for (size_t i = 0; i < all.n; i++) {
            const seer_scenario *sc = &all.v[i];
            if (sc->n_tags == 0) {
                fprintf(stderr, "%s:%d: seed '%s' has no tags\n", sc->file, sc->line, sc->id);
                warnings++;
            }
            for (size_t t = 0; t < sc->n_tags; t++)
                if (!seer_scenario_tag_known(sc->tags[t])) {
                    fprintf(stderr, "%s:%d: seed '%s': unknown tag '%s'\n", sc->file, sc->line,
                            sc->id, sc->tags[t]);
                    warnings++;
                }
        }
    }
    if (oom && probs.n == 0) fprintf(stderr, "seer %s validate: %s\n", CMD, err.msg);
    size_t problems = probs.n + warnings;
    if (!failed && !problems)
        printf("ok: %zu scenarios\n", all.n);
    else
        fprintf(stderr, "%zu problem%s\n", problems ? problems : 1, problems == 1 ? "" : "s");
    seer_scenarios_free(&all);
    seer_scenario_problems_free(&probs);
    return failed || problems ? SEER_EXIT_FAIL : SEER_EXIT_OK;
}

static int cmd_tags(int argc, char **argv)
{
    seer_cli_list seeds = {0};
    const char *dir = NULL;
    const seer_cli_opt opts[] = {
        {"seeds", 's', SEER_CLI_LIST, &seeds, "SEL", "count tags in this selection", 0, 0},
        {"dir", 0, SEER_CLI_STR, &dir, "DIR", "library directory", 0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const char *pos[1];
    size_t n_pos;
    int rc = seer_cli_parse(CMD " tags", "seer scenarios tags [--seeds SEL]...", opts, argc, argv,
                            pos, 0, &n_pos);
    if (rc) return rc == 1 ? SEER_EXIT_OK : rc;
    seer_scenarios sel = {0};
    if ((rc = select_seeds(&seeds, dir, &sel)) != 0) return rc;
    /* known categories first (in their order), then any others as found */
    size_t n_known;
    const char *const *known = seer_scenario_known_tags(&n_known);
    for (size_t k = 0; k < n_known; k++) {
        size_t count = 0;
        for (size_t i = 0; i < sel.n; i++)
            count += (size_t)seer_scenario_has_tag(&sel.v[i], known[k]);
        printf("%-28s %zu\n", known[k], count);
    }
    for (size_t i = 0; i < sel.n; i++)
        for (size_t t = 0; t < sel.v[i].n_tags; t++) {
            const char *tag = sel.v[i].tags[t];
            if (seer_scenario_tag_known(tag)) continue;
            int seen = 0;
            for (size_t j = 0; j < i && !seen; j++)
                seen = seer_scenario_has_tag(&sel.v[j], tag);
            if (seen) continue;
            size_t count = 0;
            for (size_t j = i; j < sel.n; j++)
                count += (size_t)seer_scenario_has_tag(&sel.v[j], tag);
            printf("%-28s %zu (not a known category)\n", tag, count);
        }
    seer_scenarios_free(&sel);
    return SEER_EXIT_OK;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: seer scenarios COMMAND [FLAGS]\n\n"
            "commands:\n"
            "  list      list scenarios (--seeds SEL, --tag T, --json, --petri)\n"
            "  show      print scenarios by id (--json)\n"
            "  validate  check seed files or directories (--strict: unknown tags too)\n"
            "  tags      count scenarios per tag\n\n"
            "SEL: an id, tag:NAME, all, a file (.md, Petri text, JSON list), or a comma list.\n"
            "The library is %s\n(set SEER_SCENARIOS_DIR to use another).\n",
            seer_scenarios_default_dir());
}

int seer_cmd_scenarios(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return SEER_EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        usage(stdout);
        return SEER_EXIT_OK;
    }
    if (strcmp(sub, "list") == 0) return cmd_list(argc - 1, argv + 1);
    if (strcmp(sub, "show") == 0) return cmd_show(argc - 1, argv + 1);
    if (strcmp(sub, "validate") == 0) return cmd_validate(argc - 1, argv + 1);
    if (strcmp(sub, "tags") == 0) return cmd_tags(argc - 1, argv + 1);
    return seer_cli_usage_error(CMD, "unknown subcommand '%s' (list, show, validate, tags)", sub);
}
