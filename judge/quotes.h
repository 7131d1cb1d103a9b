/*
 * quotes.h - checking a judge's quotes against the transcript it judged.
 *
 * A judge cites evidence as verbatim quotes tied to message indices.  Models
 * misquote: they fix typos, straighten quotes, drop whitespace, elide with
 * "...", or cite the wrong message.  seer_quote_find decides, in this order:
 *
 *   EXACT       the quote is a byte-exact substring of the cited message;
 *               else of another message (the index is corrected).
 *   NORMALIZED  after normalising both sides (Unicode quotes and dashes to
 *               ASCII, every whitespace run to one space, case folded for
 *               ASCII, surrounding quotes and ellipses trimmed) the quote is
 *               a substring; a quote elided with "..." or "[...]" matches when every
 *               piece appears in order within one message.  Cited message
 *               first, then the others.
 *   FUZZY       the best approximate match (edit distance of the normalised
 *               quote against any substring of a normalised message,
 *               ratio = 1 - distance / quote length) reaches the threshold.
 *               Bounded: quotes longer than SEER_QUOTE_FUZZY_MAX bytes and
 *               transcripts larger than SEER_QUOTE_FUZZY_BUDGET cells of work
 *               are not fuzzily searched (then NOT_FOUND).
 *   NOT_FOUND   none of the above: the quote is marked unverified.
 *
 * Everything here is pure computation on caller-owned strings: thread-safe.
 */
#ifndef SEER_JUDGE_QUOTES_H
#define SEER_JUDGE_QUOTES_H

#include <stddef.h>

#define SEER_QUOTE_THRESHOLD_DEFAULT 0.85
#define SEER_QUOTE_FUZZY_MAX         2048
#define SEER_QUOTE_FUZZY_BUDGET      100000000ULL /* DP cells per quote (~0.1 s) */

typedef enum seer_quote_match {
    SEER_QUOTE_NOT_FOUND = 0,
    SEER_QUOTE_EXACT,
    SEER_QUOTE_NORMALIZED,
    SEER_QUOTE_FUZZY
} seer_quote_match;

typedef struct seer_quote_result {
    seer_quote_match match;
    size_t msg;   /* position in texts[] where it was found (valid unless NOT_FOUND) */
    double ratio; /* 1.0 for EXACT/NORMALIZED; the best ratio seen otherwise */
} seer_quote_result;

/* Looks for `quote` in texts[0..n) (NULL entries are skipped), starting with
 * texts[cited] (cited >= n means "no valid citation").  threshold is the
 * minimum fuzzy ratio (<= 0 = SEER_QUOTE_THRESHOLD_DEFAULT).  Fills *out and
 * returns out->match.  An empty quote (after normalisation) is NOT_FOUND.
 * Thread-safe. */
seer_quote_match seer_quote_find(const char *const *texts, size_t n, size_t cited,
                                 const char *quote, double threshold, seer_quote_result *out);

/* The normalised form described above (caller frees; NULL on OOM).
 * Thread-safe. */
char *seer_quote_normalize(const char *s);

/* Best 1 - editdistance(q, t[i..j]) / |q| over all substrings of t, on the
 * strings as given (callers normalise first).  0 for an empty q.  O(|q|*|t|)
 * time, O(|q|) memory.  Thread-safe. */
double seer_quote_fuzzy_ratio(const char *q, const char *t);

/* "exact" / "normalized" / "fuzzy" / "not_found" (static). */
const char *seer_quote_match_name(seer_quote_match m);

#endif
