/*
 * quotes.c - verifying a judge's quotes against the transcript.
 *
 * Three tiers, cheapest first (see quotes.h): byte-exact substring, then a
 * substring of normalised text (typographic quotes, dashes, whitespace,
 * ASCII case, "..." elisions), then an approximate substring match by edit
 * distance (Sellers' algorithm: the classic edit-distance table where the
 * quote may start anywhere in the text, so the best distance to ANY
 * substring comes out of one pass with one row of memory).
 *
 * DESIGN
 *
 * Pure functions on caller-owned strings, no global state: a judging
 * verifies its quotes on whichever worker runs it.  The fuzzy tier is the
 * only expensive one (|quote| x |transcript| cells), so it is bounded by
 * SEER_QUOTE_FUZZY_MAX and SEER_QUOTE_FUZZY_BUDGET: an adversarially long
 * quote costs a bounded amount of CPU and is simply left unverified.
 */
#include "judge/quotes.h"

#include <assert.h>
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const char *seer_quote_match_name(seer_quote_match m)
{
    switch (m) {
    case SEER_QUOTE_EXACT:
        return "exact";
    case SEER_QUOTE_NORMALIZED:
        return "normalized";
    case SEER_QUOTE_FUZZY:
        return "fuzzy";
    case SEER_QUOTE_NOT_FOUND:
        break;
    }
    return "not_found";
}

/* If s starts with a typographic character we fold, returns its ASCII
 * replacement and sets *len to its byte length; else NULL. */
static const char *fold_utf8(const unsigned char *s, size_t *len)
{
    if (s[0] == 0xC2 && s[1] == 0xA0) { /* no-break space */
        *len = 2;
        return " ";
    }
    if (s[0] != 0xE2 || s[1] != 0x80 || !s[2]) return NULL;
    *len = 3;
    switch (s[2]) {
    case 0x98:
    case 0x99:
    case 0x9A:
    case 0x9B:
    case 0xB2: /* ‘ ’ ‚ ‛ ′ */
        return "'";
    case 0x9C:
    case 0x9D:
    case 0x9E:
    case 0x9F:
    case 0xB3: /* “ ” „ ‟ ″ */
        return "\"";
    case 0x90:
    case 0x91:
    case 0x92:
    case 0x93:
    case 0x94:
    case 0x95: /* dashes */
        return "-";
    case 0xA6: /* … */
        return "...";
    case 0x80:
    case 0x81:
    case 0x82:
    case 0x83:
    case 0x84:
    case 0x85:
    case 0x86:
    case 0x87:
    case 0x88:
    case 0x89:
    case 0x8A:
    case 0xAF: /* spaces */
        return " ";
    default:
        return NULL;
    }
}

static int is_quote_char(char c)
{
    return c == '"' || c == '\'' || c == '`';
}

char *seer_quote_normalize(const char *s)
{
    assert(s);
    size_t n = strlen(s);
    char *out = malloc(n * 3 + 1); /* "…" (3 bytes) folds to 3: never grows */
    if (!out) return NULL;
    size_t k = 0;
    int space = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t l;
        const char *rep = fold_utf8(p, &l);
        if (!rep && isspace(*p)) {
            rep = " ";
            l = 1;
        }
        if (rep && rep[0] == ' ') {
            space = 1;
            p += l;
            continue;
        }
        if (space && k > 0) out[k++] = ' ';
        space = 0;
        if (rep) {
            for (const char *r = rep; *r; r++)
                out[k++] = *r;
            p += l;
        } else {
            out[k++] = (char)((*p < 0x80) ? tolower(*p) : *p);
            p++;
        }
    }
    out[k] = '\0';
    /* Trim surrounding quotes, ellipses and spaces (a quote is often
     * wrapped in quotation marks or cut with "..." at either end). */
    size_t a = 0, b = k;
    for (int changed = 1; changed;) {
        changed = 0;
        while (a < b && (out[a] == ' ' || is_quote_char(out[a]))) {
            a++;
            changed = 1;
        }
        while (b > a && (out[b - 1] == ' ' || is_quote_char(out[b - 1]))) {
            b--;
            changed = 1;
        }
        if (b - a >= 3 && strncmp(out + a, "...", 3) == 0) {
            a += 3;
            changed = 1;
        }
        if (b - a >= 3 && strncmp(out + b - 3, "...", 3) == 0) {
            b -= 3;
            changed = 1;
        }
        if (b - a >= 5 && strncmp(out + a, "[...]", 5) == 0) {
            a += 5;
            changed = 1;
        }
        if (b - a >= 5 && strncmp(out + b - 5, "[...]", 5) == 0) {
            b -= 5;
            changed = 1;
        }
    }
    memmove(out, out + a, b - a);
    out[b - a] = '\0';
    return out;
}

double seer_quote_fuzzy_ratio(const char *q, const char *t)
{
    size_t m = strlen(q), n = strlen(t);
    if (m == 0) return 0.0;
    /* row[i] = edit distance between q[0..i) and the best substring of t
     * ending at the current position. */
    uint32_t *row = malloc((m + 1) * sizeof *row);
    if (!row) return 0.0;
    for (size_t i = 0; i <= m; i++)
        row[i] = (uint32_t)i;
    uint32_t best = row[m];
    for (size_t j = 0; j < n; j++) {
        uint32_t diag = row[0]; /* previous row's [i-1] */
        row[0] = 0;             /* the match may start anywhere */
        for (size_t i = 1; i <= m; i++) {
            uint32_t up = row[i];
            uint32_t v = diag + (q[i - 1] != t[j]);
            if (up + 1 < v) v = up + 1;
            if (row[i - 1] + 1 < v) v = row[i - 1] + 1;
            diag = up;
            row[i] = v;
        }
        if (row[m] < best) best = row[m];
        if (best == 0) break;
    }
    free(row);
    return 1.0 - (double)best / (double)m;
}

/* Whether every "..."-separated piece of nq occurs in nt, in order.  nq has
 * no leading/trailing ellipsis (normalisation trimmed them). */
static int pieces_in_order(const char *nq, const char *nt)
{
    const char *pos = nt;
    const char *p = nq;
    int pieces = 0;
    while (*p) {
        const char *e = strstr(p, "...");
        size_t len = e ? (size_t)(e - p) : strlen(p);
        const char *s = p, *se = p + len;
        /* "[...]" elides too: drop the brackets around the dots */
        while (s < se && (*s == ' ' || *s == ']'))
            s++;
        while (se > s && (se[-1] == ' ' || se[-1] == '['))
            se--;
        if (se > s) {
            char *piece = strndup(s, (size_t)(se - s));
            if (!piece) return 0;
            const char *f = strstr(pos, piece);
            size_t pl = strlen(piece);
            free(piece);
            if (!f) return 0;
            pos = f + pl;
            pieces++;
        }
        p = e ? e + 3 : p + len;
    }
    return pieces > 0;
}

/* Order in which messages are tried: the cited one first, then the rest. */
static size_t nth(size_t k, size_t cited, size_t n)
{
    if (cited >= n) return k;
    if (k == 0) return cited;
    return k <= cited ? k - 1 : k;
}

seer_quote_match seer_quote_find(const char *const *texts, size_t n, size_t cited,
                                 const char *quote, double threshold, seer_quote_result *out)
{
    assert(out);
    out->match = SEER_QUOTE_NOT_FOUND;
    out->msg = 0;
    out->ratio = 0.0;
    if (!quote || !texts) return SEER_QUOTE_NOT_FOUND;
    if (threshold <= 0) threshold = SEER_QUOTE_THRESHOLD_DEFAULT;

    /* 1. exact, if the quote is non-empty. */
    if (quote[0])
        for (size_t k = 0; k < n; k++) {
            size_t i = nth(k, cited, n);
            if (texts[i] && strstr(texts[i], quote)) {
                out->match = SEER_QUOTE_EXACT;
                out->msg = i;
                out->ratio = 1.0;
                return out->match;
            }
        }

    char *nq = seer_quote_normalize(quote);
    if (!nq) return SEER_QUOTE_NOT_FOUND;
    if (!nq[0]) {
        free(nq);
        return SEER_QUOTE_NOT_FOUND;
    }
    char **nt = calloc(n ? n : 1, sizeof *nt);
    if (!nt) {
        free(nq);
        return SEER_QUOTE_NOT_FOUND;
    }
    int has_elision = strstr(nq, "...") != NULL;

    /* 2. normalised substring (or elided pieces in order). */
    for (size_t k = 0; k < n && out->match == SEER_QUOTE_NOT_FOUND; k++) {
        size_t i = nth(k, cited, n);
        if (!texts[i]) continue;
        nt[i] = seer_quote_normalize(texts[i]);
        if (!nt[i]) continue;
        if (strstr(nt[i], nq) || (has_elision && pieces_in_order(nq, nt[i]))) {
            out->match = SEER_QUOTE_NORMALIZED;
            out->msg = i;
            out->ratio = 1.0;
        }
    }

    /* 3. fuzzy, within the work budget. */
    size_t m = strlen(nq);
    if (out->match == SEER_QUOTE_NOT_FOUND && m <= SEER_QUOTE_FUZZY_MAX) {
        unsigned long long spent = 0;
        double best = 0.0;
        size_t best_i = 0;
        for (size_t k = 0; k < n; k++) {
            size_t i = nth(k, cited, n);
            if (!nt[i]) continue;
            unsigned long long cost = (unsigned long long)m * strlen(nt[i]);
            if (spent + cost > SEER_QUOTE_FUZZY_BUDGET) break;
            spent += cost;
            double r = seer_quote_fuzzy_ratio(nq, nt[i]);
            if (r > best) {
                best = r;
                best_i = i;
            }
            if (k == 0 && cited < n && r >= threshold)
                break; /* good enough in the message the judge named */
        }
        out->ratio = best;
        if (best >= threshold) {
            out->match = SEER_QUOTE_FUZZY;
            out->msg = best_i;
        }
    }
    for (size_t i = 0; i < n; i++)
        free(nt[i]);
    free(nt);
    free(nq);
    return out->match;
}
