/*
 * pyfunc.c - synthetic tools for the target: a Python-style function
 * signature plus docstring, read as text and turned into a tool definition
 * with a JSON schema (seer_target_parse_function, declared in target.h).
 *
 * The auditor writes tools the way Petri's auditors do:
 *
 *   def get_weather(city: str, unit: Literal["c", "f"] = "c") -> str:
 *       """Current weather for a city.
 *
 *       Args:
 *           city: Name of the city.
 *           unit: Temperature unit.
 *       """
 *       ...
 *
 * Nothing is executed or imported: this is a small recursive-descent reader
 * of the `def` line (parameters split at top-level commas, annotations
 * mapped to JSON-schema types, literal defaults read as JSON) and a
 * line-based reader of the docstring (Google "Args:", numpy "Parameters" /
 * "----------", reST ":param x:").  Everything unknown degrades gently (an
 * unknown annotation accepts any JSON value) except what would make the
 * tool unusable: no `def`, an invalid name, unbalanced brackets, variadic
 * parameters, a missing docstring.  Errors name line:col in the code.
 *
 * DESIGN: pure functions on the caller's thread; no shared state, so
 * thread-safe.  Every cJSON tree built here is owned by the function that
 * built it until it is attached to its parent or freed on the error path.
 */
#include "audit/target.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TYPE_DEPTH 16

typedef struct span {
    const char *p;
    size_t n;
} span;

static span sp_trim(span s)
{
    while (s.n && isspace((unsigned char)s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n && isspace((unsigned char)s.p[s.n - 1]))
        s.n--;
    return s;
}

static int sp_eq(span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

static int is_ident_start(int c)
{
    return isalpha(c) || c == '_';
}

static int is_ident(int c)
{
    return isalnum(c) || c == '_';
}

/* Length of the string literal starting at s[0] (a quote, possibly
 * triple), including its quotes; 0 if unterminated within n. */
static size_t string_len(const char *s, size_t n)
{
    char q = s[0];
    assert(q == '"' || q == '\'');
    int triple = n >= 3 && s[1] == q && s[2] == q;
    size_t i = triple ? 3 : 1;
    while (i < n) {
        if (s[i] == '\\') {
            i += 2;
            continue;
        }
        if (triple) {
            if (i + 2 < n && s[i] == q && s[i + 1] == q && s[i + 2] == q) return i + 3;
        } else if (s[i] == q) {
            return i + 1;
        } else if (s[i] == '\n') {
            return 0;
        }
        i++;
    }
    return 0;
}

/* Finds the first top-level occurrence of `stop` (outside brackets and
 * strings) in s; returns its offset, s.n if absent, or (size_t)-1 if the
 * brackets or strings are unbalanced.  stop2 (if non-zero) must follow stop
 * (for "->"). */
static size_t find_top(span s, char stop, char stop2)
{
    int depth = 0;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (c == '"' || c == '\'') {
            size_t l = string_len(s.p + i, s.n - i);
            if (!l) return (size_t)-1;
            i += l - 1;
            continue;
        }
        if (depth == 0 && c == stop && (!stop2 || (i + 1 < s.n && s.p[i + 1] == stop2))) return i;
        if (c == '(' || c == '[' || c == '{')
            depth++;
        else if (c == ')' || c == ']' || c == '}') {
            if (--depth < 0) return (size_t)-1;
        }
    }
    return depth == 0 ? s.n : (size_t)-1;
}

/* Splits s at top-level `sep` into at most cap parts; returns the count or
 * -1 on imbalance / too many. */
static int split_top(span s, char sep, span *parts, int cap)
{
    int n = 0;
    while (1) {
        size_t k = find_top(s, sep, 0);
        if (k == (size_t)-1 || n >= cap) return -1;
        parts[n++] = sp_trim((span){s.p, k});
        if (k == s.n) return n;
        s.p += k + 1;
        s.n -= k + 1;
    }
}

/* ---- literals ------------------------------------------------------------ */

/* A Python literal as JSON (strings, numbers, True/False/None, empty
 * containers); NULL if it is something else. */
static cJSON *parse_literal(span s)
{
    s = sp_trim(s);
    if (s.n == 0) return NULL;
    if ((s.p[0] == '"' || s.p[0] == '\'') && string_len(s.p, s.n) == s.n) {
        int triple = s.n >= 6 && s.p[1] == s.p[0] && s.p[2] == s.p[0];
        size_t q = triple ? 3 : 1;
        char *buf = malloc(s.n + 1);
        if (!buf) return NULL;
        size_t o = 0;
        for (size_t i = q; i < s.n - q; i++) {
            char c = s.p[i];
            if (c == '\\' && i + 1 < s.n - q) {
                char e = s.p[++i];
                c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
            }
            buf[o++] = c;
        }
        buf[o] = '\0';
        cJSON *j = cJSON_CreateString(buf);
        free(buf);
        return j;
    }
    if (sp_eq(s, "True")) return cJSON_CreateTrue();
    if (sp_eq(s, "False")) return cJSON_CreateFalse();
    if (sp_eq(s, "None")) return cJSON_CreateNull();
    if (sp_eq(s, "[]") || sp_eq(s, "()")) return cJSON_CreateArray();
    if (sp_eq(s, "{}")) return cJSON_CreateObject();
    if (isdigit((unsigned char)s.p[0]) || s.p[0] == '-' || s.p[0] == '+' || s.p[0] == '.') {
        char tmp[64];
        if (s.n >= sizeof tmp) return NULL;
        size_t o = 0;
        for (size_t i = 0; i < s.n; i++)
            if (s.p[i] != '_') /* 1_000 */
                tmp[o++] = s.p[i];
        tmp[o] = '\0';
        char *end;
        double v = strtod(tmp, &end);
        if (*end == '\0' && end != tmp) return cJSON_CreateNumber(v);
    }
    return NULL;
}

/* "integer" for whole numbers, else the JSON type name of a literal. */
static const char *literal_type(const cJSON *v)
{
    if (cJSON_IsString(v)) return "string";
    if (cJSON_IsBool(v)) return "boolean";
    if (cJSON_IsNumber(v))
        return v->valuedouble == (double)(long long)v->valuedouble ? "integer" : "number";
    if (cJSON_IsArray(v)) return "array";
    if (cJSON_IsObject(v)) return "object";
    return NULL;
}

/* ---- annotations ----------------------------------------------------------- */

static cJSON *type_only(const char *t)
{
    cJSON *o = cJSON_CreateObject();
    if (o && !cJSON_AddStringToObject(o, "type", t)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *ann_schema(span a, int *nullable, int depth);

/* Schema of a union given as parts; None parts set *nullable. */
static cJSON *union_schema(span *parts, int n, int *nullable, int depth)
{
    cJSON *any = cJSON_CreateArray();
    if (!any) return NULL;
    for (int i = 0; i < n; i++) {
        if (sp_eq(parts[i], "None") || sp_eq(parts[i], "NoneType")) {
            *nullable = 1;
            continue;
        }
        int nn = 0;
        cJSON *s = ann_schema(parts[i], &nn, depth + 1);
        if (!s) {
            cJSON_Delete(any);
            return NULL;
        }
        if (nn) *nullable = 1;
        cJSON_AddItemToArray(any, s);
    }
    int k = cJSON_GetArraySize(any);
    if (k == 0) {
        cJSON_Delete(any);
        return cJSON_CreateObject();
    }
    if (k == 1) {
        cJSON *only = cJSON_DetachItemFromArray(any, 0);
        cJSON_Delete(any);
        return only;
    }
    cJSON *o = cJSON_CreateObject();
    if (!o) {
        cJSON_Delete(any);
        return NULL;
    }
    cJSON_AddItemToObject(o, "anyOf", any);
    return o;
}

static int in_list(span head, const char *const *names)
{
    for (; *names; names++)
        if (sp_eq(head, *names)) return 1;
    return 0;
}

/* JSON schema for a Python annotation.  Never fails except on OOM (NULL):
 * anything not understood accepts any value ({}). */
static cJSON *ann_schema(span a, int *nullable, int depth)
{
    static const char *const arrays[] = {
        "list",      "List",  "Sequence", "Iterable",        "set",        "Set", "frozenset",
        "FrozenSet", "tuple", "Tuple",    "MutableSequence", "Collection", NULL};
    static const char *const objects[] = {"dict",           "Dict",      "Mapping",
                                          "MutableMapping", "TypedDict", NULL};
    a = sp_trim(a);
    if (depth > MAX_TYPE_DEPTH || a.n == 0) return cJSON_CreateObject();
    /* a forward reference in quotes: "list[str]" */
    if ((a.p[0] == '"' || a.p[0] == '\'') && string_len(a.p, a.n) == a.n && a.n >= 2)
        return ann_schema((span){a.p + 1, a.n - 2}, nullable, depth + 1);
    span parts[32];
    int np = split_top(a, '|', parts, 32);
    if (np > 1) return union_schema(parts, np, nullable, depth);
    /* head[args] */
    size_t lb = find_top(a, '[', 0);
    span head = a, args = {a.p + a.n, 0};
    if (lb != (size_t)-1 && lb < a.n && a.p[a.n - 1] == ']') {
        head = sp_trim((span){a.p, lb});
        args = (span){a.p + lb + 1, a.n - lb - 2};
    }
    /* typing.List -> List */
    for (size_t i = head.n; i-- > 0;)
        if (head.p[i] == '.') {
            head = (span){head.p + i + 1, head.n - i - 1};
            break;
        }
    np = args.n ? split_top(args, ',', parts, 32) : 0;
    if (np < 0) np = 0;
    if (sp_eq(head, "Optional")) {
        *nullable = 1;
        return np ? ann_schema(parts[0], nullable, depth + 1) : cJSON_CreateObject();
    }
    if (sp_eq(head, "Union")) return union_schema(parts, np, nullable, depth);
    if (sp_eq(head, "Annotated") || sp_eq(head, "Required") || sp_eq(head, "NotRequired"))
        return np ? ann_schema(parts[0], nullable, depth + 1) : cJSON_CreateObject();
    if (sp_eq(head, "str") || sp_eq(head, "bytes")) return type_only("string");
    if (sp_eq(head, "int")) return type_only("integer");
    if (sp_eq(head, "float") || sp_eq(head, "Decimal")) return type_only("number");
    if (sp_eq(head, "bool")) return type_only("boolean");
    if (sp_eq(head, "None") || sp_eq(head, "NoneType")) return type_only("null");
    if (in_list(head, arrays)) {
        cJSON *o = type_only("array");
        if (o && np > 0 && !sp_eq(parts[0], "...")) {
            int nn = 0;
            cJSON *items = ann_schema(parts[0], &nn, depth + 1);
            if (!items) {
                cJSON_Delete(o);
                return NULL;
            }
            cJSON_AddItemToObject(o, "items", items);
        }
        return o;
    }
    if (in_list(head, objects)) {
        cJSON *o = type_only("object");
        if (o && np == 2) {
            int nn = 0;
            cJSON *vals = ann_schema(parts[1], &nn, depth + 1);
            if (!vals) {
                cJSON_Delete(o);
                return NULL;
            }
            cJSON_AddItemToObject(o, "additionalProperties", vals);
        }
        return o;
    }
    if (sp_eq(head, "Literal")) {
        cJSON *o = cJSON_CreateObject(), *en = cJSON_CreateArray();
        if (!o || !en) {
            cJSON_Delete(o);
            cJSON_Delete(en);
            return NULL;
        }
        const char *type = NULL;
        int mixed = 0;
        for (int i = 0; i < np; i++) {
            cJSON *v = parse_literal(parts[i]);
            if (!v) continue;
            if (cJSON_IsNull(v)) {
                *nullable = 1;
                cJSON_Delete(v);
                continue;
            }
            const char *t = literal_type(v);
            if (type && t && strcmp(type, t) != 0) mixed = 1;
            if (!type) type = t;
            cJSON_AddItemToArray(en, v);
        }
        if (type && !mixed) cJSON_AddStringToObject(o, "type", type);
        cJSON_AddItemToObject(o, "enum", en);
        return o;
    }
    return cJSON_CreateObject(); /* Any, object, a class we cannot see: any value */
}

/* ---- the def line ------------------------------------------------------------- */

typedef struct param {
    span name;
    span ann;   /* may be empty */
    span deflt; /* may be empty */
    int has_default;
    size_t offset; /* in the code, for errors */
    char *doc;     /* from the docstring; owned */
} param;

static seer_err fail_at(seer_error *err, const char *code, size_t off, const char *what)
{
    int line, col;
    seer_offset_to_linecol(code, off, &line, &col);
    return seer_error_set(err, SEER_EINVAL, "function_code %d:%d: %s", line, col, what);
}

/* Skips blank lines, comments and decorators; returns the offset of `def`
 * (or `async def`) or where something else starts. */
static size_t skip_preamble(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && isspace((unsigned char)s[i]))
            i++;
        if (i < n && (s[i] == '#' || s[i] == '@')) {
            /* a decorator may carry brackets over several lines */
            int depth = 0;
            while (i < n && (s[i] != '\n' || depth > 0)) {
                if (s[i] == '(' || s[i] == '[')
                    depth++;
                else if ((s[i] == ')' || s[i] == ']') && depth > 0)
                    depth--;
                i++;
            }
            continue;
        }
        break;
    }
    return i;
}

static int starts_word(const char *s, size_t n, size_t i, const char *w)
{
    size_t k = strlen(w);
    return i + k < n && memcmp(s + i, w, k) == 0 && isspace((unsigned char)s[i + k]);
}

/* Parses the parameter list between the parentheses. */
static seer_err parse_params(const char *code, span list, param **out, size_t *n_out,
                             seer_error *err)
{
    span parts[64];
    int np = split_top(list, ',', parts, 64);
    if (np < 0)
        return fail_at(err, code, (size_t)(list.p - code),
                       "too many parameters (at most 64) or unbalanced brackets");
    param *ps = calloc((size_t)np + 1, sizeof *ps);
    if (!ps) return seer_error_set(err, SEER_ENOMEM, "out of memory");
    size_t k = 0;
    for (int i = 0; i < np; i++) {
        span s = parts[i];
        size_t off = (size_t)(s.p - code);
        if (s.n == 0) {
            if (i == np - 1) continue; /* trailing comma */
            free(ps);
            return fail_at(err, code, off, "empty parameter");
        }
        if (sp_eq(s, "/") || sp_eq(s, "*")) continue;
        if (s.p[0] == '*') {
            free(ps);
            return fail_at(err, code, off,
                           "variadic parameters (*args, **kwargs) cannot be described to the "
                           "target; name every parameter");
        }
        size_t eq = find_top(s, '=', 0);
        span head = s;
        param *p = &ps[k];
        p->offset = off;
        if (eq != (size_t)-1 && eq < s.n) {
            head = sp_trim((span){s.p, eq});
            p->deflt = sp_trim((span){s.p + eq + 1, s.n - eq - 1});
            p->has_default = 1;
            if (p->deflt.n == 0) {
                free(ps);
                return fail_at(err, code, off, "parameter default is empty");
            }
        }
        size_t colon = find_top(head, ':', 0);
        if (colon != (size_t)-1 && colon < head.n) {
            p->ann = sp_trim((span){head.p + colon + 1, head.n - colon - 1});
            head = sp_trim((span){head.p, colon});
        }
        p->name = head;
        int ok = head.n > 0 && is_ident_start((unsigned char)head.p[0]);
        for (size_t j = 1; ok && j < head.n; j++)
            ok = is_ident((unsigned char)head.p[j]);
        if (!ok) {
            free(ps);
            return fail_at(err, code, off, "parameter name is not an identifier");
        }
        if (k == 0 && (sp_eq(head, "self") || sp_eq(head, "cls")) && !p->ann.n) continue;
        for (size_t j = 0; j < k; j++)
            if (ps[j].name.n == head.n && memcmp(ps[j].name.p, head.p, head.n) == 0) {
                free(ps);
                return fail_at(err, code, off, "duplicate parameter name");
            }
        k++;
    }
    *out = ps;
    *n_out = k;
    return SEER_OK;
}

/* ---- the docstring -------------------------------------------------------------- */

typedef struct line {
    const char *p;
    size_t n;
    size_t indent;
    int blank;
} line;

static int is_dashes(const line *l)
{
    if (l->blank) return 0;
    for (size_t i = l->indent; i < l->n; i++)
        if (l->p[i] != '-' && !isspace((unsigned char)l->p[i])) return 0;
    return 1;
}

static span line_text(const line *l)
{
    return sp_trim((span){l->p, l->n});
}

static int google_arg_header(span t)
{
    static const char *const h[] = {"Args:",         "Arguments:",         "Parameters:", "Params:",
                                    "Keyword Args:", "Keyword Arguments:", NULL};
    return in_list(t, h);
}

static param *find_param(param *ps, size_t n, span name)
{
    for (size_t i = 0; i < n; i++)
        if (ps[i].name.n == name.n && memcmp(ps[i].name.p, name.p, name.n) == 0) return &ps[i];
    return NULL;
}

/* Appends text (with a space) to a param's description. */
static seer_err doc_append(param *p, span t)
{
    if (!p || t.n == 0) return SEER_OK;
    size_t old = p->doc ? strlen(p->doc) : 0;
    char *d = realloc(p->doc, old + t.n + 2);
    if (!d) return SEER_ENOMEM;
    if (old) d[old++] = ' ';
    memcpy(d + old, t.p, t.n);
    d[old + t.n] = '\0';
    p->doc = d;
    return SEER_OK;
}

/* Reads "name (type): text" / "name: text" / numpy "name : type"; returns
 * the param (or NULL if unknown) and sets *rest to the text after the colon. */
static param *arg_entry(param *ps, size_t n, span t, span *rest)
{
    size_t i = 0;
    while (i < t.n && t.p[i] == '*')
        i++;
    size_t start = i;
    while (i < t.n && is_ident((unsigned char)t.p[i]))
        i++;
    span name = {t.p + start, i - start};
    *rest = (span){t.p + t.n, 0};
    size_t c = i;
    while (c < t.n && t.p[c] != ':')
        c++;
    if (c < t.n) *rest = sp_trim((span){t.p + c + 1, t.n - c - 1});
    return name.n ? find_param(ps, n, name) : NULL;
}

/* Splits the docstring into lines, removing the common indentation of all
 * lines but the first (like inspect.cleandoc). */
static line *doc_lines(span doc, size_t *n_out)
{
    size_t cap = 1;
    for (size_t i = 0; i < doc.n; i++)
        cap += doc.p[i] == '\n';
    line *ls = calloc(cap, sizeof *ls);
    if (!ls) return NULL;
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= doc.n; i++) {
        if (i == doc.n || doc.p[i] == '\n') {
            line *l = &ls[n++];
            l->p = doc.p + start;
            l->n = i - start;
            if (l->n && l->p[l->n - 1] == '\r') l->n--;
            size_t k = 0;
            while (k < l->n && (l->p[k] == ' ' || l->p[k] == '\t'))
                k++;
            l->indent = k;
            l->blank = k == l->n;
            start = i + 1;
        }
    }
    size_t common = (size_t)-1;
    for (size_t i = 1; i < n; i++)
        if (!ls[i].blank && ls[i].indent < common) common = ls[i].indent;
    if (common == (size_t)-1) common = 0;
    for (size_t i = 0; i < n; i++) {
        size_t cut = i == 0 ? ls[i].indent : (ls[i].blank ? ls[i].n : common);
        if (cut > ls[i].n) cut = ls[i].n;
        ls[i].p += cut;
        ls[i].n -= cut;
        ls[i].indent = ls[i].indent >= cut ? ls[i].indent - cut : 0;
    }
    *n_out = n;
    return ls;
}

/* Parses the docstring: the tool description into *desc (caller frees) and
 * parameter descriptions into ps[].doc. */
static seer_err parse_doc(span doc, param *ps, size_t np, char **desc)
{
    size_t nl;
    line *ls = doc_lines(doc, &nl);
    if (!ls) return SEER_ENOMEM;
    char *d = malloc(doc.n + 1);
    if (!d) {
        free(ls);
        return SEER_ENOMEM;
    }
    size_t dn = 0;
    enum { DESC, ARGS, NUMPY_ARGS } mode = DESC;
    size_t entry_indent = (size_t)-1, header_indent = 0;
    param *cur = NULL;
    seer_err e = SEER_OK;
    for (size_t i = 0; i < nl && e == SEER_OK; i++) {
        line *l = &ls[i];
        span t = line_text(l);
        int numpy_header = !l->blank && i + 1 < nl && is_dashes(&ls[i + 1]) && !is_dashes(l);
        if (mode == ARGS && !l->blank && l->indent <= header_indent) mode = DESC;
        if (mode == NUMPY_ARGS && numpy_header) mode = DESC;
        if (mode == DESC) {
            if (google_arg_header(t)) {
                mode = ARGS;
                header_indent = l->indent;
                entry_indent = (size_t)-1;
                cur = NULL;
                continue;
            }
            if (numpy_header &&
                (sp_eq(t, "Parameters") || sp_eq(t, "Arguments") || sp_eq(t, "Other Parameters"))) {
                mode = NUMPY_ARGS;
                entry_indent = l->indent;
                cur = NULL;
                i++; /* the dashes */
                continue;
            }
            if (t.n > 7 && memcmp(t.p, ":param ", 7) == 0) {
                span rest;
                span after = {t.p + 7, t.n - 7};
                /* ":param type name: text" -> last word before the colon */
                size_t c = 0;
                while (c < after.n && after.p[c] != ':')
                    c++;
                size_t s = c;
                while (s > 0 && !isspace((unsigned char)after.p[s - 1]))
                    s--;
                span nm = {after.p + s, c - s};
                rest = c < after.n ? sp_trim((span){after.p + c + 1, after.n - c - 1})
                                   : (span){after.p + after.n, 0};
                cur = find_param(ps, np, nm);
                e = doc_append(cur, rest);
                /* continuation lines are indented deeper than ":param" */
                while (e == SEER_OK && i + 1 < nl && !ls[i + 1].blank &&
                       ls[i + 1].indent > l->indent) {
                    i++;
                    e = doc_append(cur, line_text(&ls[i]));
                }
                continue;
            }
            if (t.n > 6 && (memcmp(t.p, ":type ", 6) == 0 || memcmp(t.p, ":rtype", 6) == 0))
                continue;
            /* other sections (Returns:, Raises: ...) stay in the description */
            memcpy(d + dn, l->p, l->n);
            dn += l->n;
            d[dn++] = '\n';
            continue;
        }
        if (l->blank) continue;
        if (mode == ARGS) {
            if (entry_indent == (size_t)-1) entry_indent = l->indent;
            if (l->indent <= entry_indent) {
                span rest;
                cur = arg_entry(ps, np, t, &rest);
                e = doc_append(cur, rest);
            } else {
                e = doc_append(cur, t);
            }
        } else { /* NUMPY_ARGS: "name : type" then indented text */
            if (l->indent <= entry_indent) {
                span rest;
                cur = arg_entry(ps, np, t, &rest);
            } else {
                e = doc_append(cur, t);
            }
        }
    }
    free(ls);
    if (e != SEER_OK) {
        free(d);
        return e;
    }
    span all = sp_trim((span){d, dn});
    memmove(d, all.p, all.n);
    d[all.n] = '\0';
    *desc = d;
    return SEER_OK;
}

/* ---- the whole definition ------------------------------------------------------- */

static seer_err build_schema(param *ps, size_t np, cJSON **out)
{
    cJSON *schema = cJSON_CreateObject(), *props = cJSON_CreateObject(), *req = cJSON_CreateArray();
    if (!schema || !props || !req) goto oom;
    for (size_t i = 0; i < np; i++) {
        param *p = &ps[i];
        int nullable = 0;
        cJSON *s = p->ann.n ? ann_schema(p->ann, &nullable, 0) : cJSON_CreateObject();
        if (!s) goto oom;
        cJSON *dv = p->has_default ? parse_literal(p->deflt) : NULL;
        if (dv && cJSON_IsNull(dv)) nullable = 1;
        if (!p->ann.n && dv && literal_type(dv))
            cJSON_AddStringToObject(s, "type", literal_type(dv));
        if (p->doc && *p->doc) cJSON_AddStringToObject(s, "description", p->doc);
        if (dv && !cJSON_IsNull(dv))
            cJSON_AddItemToObject(s, "default", dv);
        else
            cJSON_Delete(dv);
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)p->name.n, p->name.p);
        cJSON_AddItemToObject(props, name, s);
        if (!p->has_default && !nullable) cJSON_AddItemToArray(req, cJSON_CreateString(name));
    }
    cJSON_AddStringToObject(schema, "type", "object");
    cJSON_AddItemToObject(schema, "properties", props);
    if (cJSON_GetArraySize(req) > 0)
        cJSON_AddItemToObject(schema, "required", req);
    else
        cJSON_Delete(req);
    *out = schema;
    return SEER_OK;
oom:
    cJSON_Delete(schema);
    cJSON_Delete(props);
    cJSON_Delete(req);
    return SEER_ENOMEM;
}

seer_err seer_target_parse_function(const char *code, seer_tool_def *out, seer_error *err)
{
    assert(out);
    memset(out, 0, sizeof *out);
    if (!code) return seer_error_set(err, SEER_EINVAL, "function_code is missing");
    size_t n = strlen(code);
    size_t i = skip_preamble(code, n);
    if (starts_word(code, n, i, "async")) {
        i += 5;
        while (i < n && isspace((unsigned char)code[i]))
            i++;
    }
    if (!starts_word(code, n, i, "def"))
        return fail_at(err, code, i,
                       "expected a Python function definition: def name(param: type, ...) -> "
                       "type: followed by a docstring");
    i += 3;
    while (i < n && isspace((unsigned char)code[i]))
        i++;
    size_t name_at = i;
    while (i < n && is_ident((unsigned char)code[i]))
        i++;
    if (i == name_at || !is_ident_start((unsigned char)code[name_at]))
        return fail_at(err, code, name_at, "expected the function's name after def");
    char *name = strndup(code + name_at, i - name_at);
    if (!name) return seer_error_set(err, SEER_ENOMEM, "out of memory");
    if (!seer_tool_name_valid(name)) {
        free(name);
        return fail_at(err, code, name_at, "the function name must be 1-64 characters");
    }
    while (i < n && (code[i] == ' ' || code[i] == '\t'))
        i++;
    if (i >= n || code[i] != '(') {
        free(name);
        return fail_at(err, code, i, "expected '(' after the function name");
    }
    span rest = {code + i + 1, n - i - 1};
    size_t close = find_top(rest, ')', 0);
    if (close == (size_t)-1 || close == rest.n) {
        free(name);
        return fail_at(err, code, i, "unbalanced parentheses or quotes in the parameter list");
    }
    span plist = {rest.p, close};
    i = (size_t)(rest.p - code) + close + 1;
    /* -> return annotation, then ':' */
    span tail = {code + i, n - i};
    size_t colon = find_top(tail, ':', 0);
    if (colon == (size_t)-1 || colon == tail.n) {
        free(name);
        return fail_at(err, code, i, "expected ':' after the parameter list");
    }
    span between = sp_trim((span){tail.p, colon});
    if (between.n && !(between.n >= 2 && between.p[0] == '-' && between.p[1] == '>')) {
        free(name);
        return fail_at(err, code, (size_t)(between.p - code),
                       "unexpected text between ')' and ':'");
    }
    i += colon + 1;
    /* docstring: the first statement of the body */
    while (i < n && isspace((unsigned char)code[i]))
        i++;
    while (i < n && code[i] == '#') {
        while (i < n && code[i] != '\n')
            i++;
        while (i < n && isspace((unsigned char)code[i]))
            i++;
    }
    if (i < n && strchr("rRuU", code[i]) && i + 1 < n &&
        (code[i + 1] == '"' || code[i + 1] == '\''))
        i++;
    if (i >= n || (code[i] != '"' && code[i] != '\'')) {
        free(name);
        return fail_at(err, code, i,
                       "the function needs a docstring describing what the tool does (and its "
                       "parameters under Args:)");
    }
    size_t sl = string_len(code + i, n - i);
    if (!sl) {
        free(name);
        return fail_at(err, code, i, "unterminated docstring");
    }
    int triple = sl >= 6 && code[i + 1] == code[i] && code[i + 2] == code[i];
    size_t q = triple ? 3 : 1;
    span doc = {code + i + q, sl - 2 * q};

    param *ps = NULL;
    size_t np = 0;
    seer_err e = parse_params(code, plist, &ps, &np, err);
    if (e != SEER_OK) {
        free(name);
        return e;
    }
    char *desc = NULL;
    cJSON *schema = NULL;
    e = parse_doc(doc, ps, np, &desc);
    if (e == SEER_OK && !*desc) {
        e = fail_at(err, code, i, "the docstring is empty; say what the tool does");
    } else if (e == SEER_OK) {
        e = build_schema(ps, np, &schema);
        if (e != SEER_OK) seer_error_set(err, e, "out of memory");
    } else {
        seer_error_set(err, e, "out of memory");
    }
    for (size_t k = 0; k < np; k++)
        free(ps[k].doc);
    free(ps);
    if (e != SEER_OK) {
        free(name);
        free(desc);
        return e;
    }
    out->schema_json = cJSON_PrintUnformatted(schema);
    cJSON_Delete(schema);
    out->name = name;
    out->description = desc;
    if (!out->schema_json) {
        free(out->name);
        free(out->description);
        memset(out, 0, sizeof *out);
        return seer_error_set(err, SEER_ENOMEM, "out of memory");
    }
    return SEER_OK;
}

void seer_target_tool_def_clear(seer_tool_def *d)
{
    if (!d) return;
    free(d->name);
    free(d->description);
    free(d->schema_json);
    memset(d, 0, sizeof *d);
}
