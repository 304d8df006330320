/* API stream: real Messages API streams (../shared/real-streams) through sse_feed and api_on_event into
 * struct api_msg, each fed whole, one byte at a time and at random split points (seed printed on failure);
 * the three must agree. Then hostile events: bad JSON, too many tokens, wild block indexes. */
#include "t_util.h"

static struct api a;
static struct api_msg m;
static struct ag_err e;
static struct buf s_text, s_think, s_starts;
static jsmntok_t pool[4096];
static const char *dir;

static void
on_text(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	buf_add(&s_text, s, n);
}

static void
on_think(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	buf_add(&s_think, s, n);
}

static void
on_start(void *ctx, int type)
{
	(void)ctx;
	buf_printf(&s_starts, "%d,", type);
}

static const struct api_sink sink = { NULL, on_text, on_think, on_start };

/* Feed a stream in pieces of the given mode (0 whole, 1 one byte, 2 random); returns the feed result. */
static int
feed(const char *in, size_t len, int mode)
{
	size_t i = 0;
	int r = 0;
	memset(&e, 0, sizeof e);
	api_msg_reset(&m);
	sse_init(&a.sse);
	a.e = &e;
	a.msg = &m;
	a.sink = &sink;
	s_text.len = s_think.len = s_starts.len = 0;
	buf_adds(&s_text, "");
	buf_adds(&s_think, "");
	buf_adds(&s_starts, "");
	while (i < len && !r) {
		size_t k = mode == 0 ? len : mode == 1 ? 1 : 1 + t_rand() % 17;
		if (k > len - i)
			k = len - i;
		r = sse_feed(&a.sse, in + i, k, api_on_event, &a);
		i += k;
	}
	if (!r)
		r = sse_finish(&a.sse, api_on_event, &a);
	return r;
}

static void
snap_buf(struct buf *o, const char *label, const struct buf *b)
{
	buf_printf(o, " %s(%zu)=", label, b->len);
	if (b->len)
		buf_add(o, b->p, b->len);
}

/* Everything the stream left behind, as one string, to compare the three ways of feeding. */
static void
snapshot(struct buf *o, int r)
{
	int i;
	o->len = 0;
	buf_printf(o, "r=%d code=%d msg=[%s]\nid=%s stop=%s usage=%lld/%lld/%lld/%lld nb=%d started=%d stopped=%d\n",
	           r, e.code, e.msg, m.id, m.stop_reason, m.usage.input, m.usage.output, m.usage.cache_read,
	           m.usage.cache_write, m.nb, m.started, m.stopped);
	for (i = 0; i < m.nb && i < AG_API_BLOCKS; i++) {
		const struct api_block *b = &m.b[i];
		buf_printf(o, "b%d type=%d stopped=%d name=%s", i, b->type, b->stopped, b->name);
		snap_buf(o, "id", &b->id);
		snap_buf(o, "text", &b->text);
		snap_buf(o, "sig", &b->sig);
		snap_buf(o, "input", &b->input);
		snap_buf(o, "raw", &b->raw);
		buf_adds(o, "\n");
	}
	snap_buf(o, "sink-text", &s_text);
	snap_buf(o, "sink-thinking", &s_think);
	buf_printf(o, " starts=%s\n", s_starts.p);
}

/* The text of a text block as the user saw it. The block may be kept as its JSON object, built while it
 * streams (API_TEXT_PREFIX, closed with "} when the block stops): then it is decoded, and a stopped one must be
 * exactly one valid JSON object {"type":"text","text":...}. Returns -1 when it is not decodable. */
static int
block_text(const struct api_block *b, struct buf *out)
{
#ifdef API_TEXT_PREFIX
	size_t pl = sizeof API_TEXT_PREFIX - 1;
	long r;
	if (b->text.len < pl || memcmp(b->text.p, API_TEXT_PREFIX, pl))
		return -1;
	if (b->stopped) {
		struct json j;
		if (json_parse(&j, b->text.p, b->text.len, pool, 4096) != 5 || pool[0].type != JSMN_OBJECT ||
		    !json_eq(&j, json_get(&j, 0, "type"), "text"))
			return -1;
		return json_str_buf(&j, json_get(&j, 0, "text"), out) ? -1 : 0;
	}
	if (buf_reserve(out, b->text.len - pl))
		return -1;
	r = json_unescape(b->text.p + pl, b->text.len - pl, out->p + out->len);
	if (r < 0)
		return -1;
	out->len += (size_t)r;
	out->p[out->len] = 0;
	return 0;
#else
	return buf_add(out, b->text.p, b->text.len) ? -1 : 0;
#endif
}

/* Text of all text blocks in order; -1 when one of them is not decodable. */
static int
text_blocks(struct buf *o)
{
	int i, bad = 0;
	o->len = 0;
	buf_adds(o, "");
	for (i = 0; i < m.nb; i++)
		if (m.b[i].type == BLK_TEXT && block_text(&m.b[i], o))
			bad = -1;
	return bad;
}

static int
block_text_is(int i, const char *s, size_t n)
{
	static struct buf t;
	t.len = 0;
	buf_adds(&t, "");
	return m.b[i].type == BLK_TEXT && block_text(&m.b[i], &t) == 0 && t.len == n && memcmp(t.p, s, n) == 0;
}

static int
bufeq(const struct buf *b, const char *s, size_t n)
{
	return b->len == n && (n == 0 || memcmp(b->p, s, n) == 0);
}

/* Feed `in` three ways; the snapshots must agree. Leaves m, e and the sink buffers from the last way. */
static int
feed3(const char *name, const char *in, size_t len, int *r)
{
	struct buf s0 = {0}, s = {0};
	int mode, same = 1;
	unsigned seed = t_seed;
	for (mode = 0; mode < 3; mode++) {
		*r = feed(in, len, mode);
		snapshot(mode ? &s : &s0, *r);
		if (mode && (s.len != s0.len || memcmp(s.p, s0.p, s.len))) {
			printf("# %s: mode %d (seed %u) differs from mode 0:\n# --- mode 0:\n%s# --- mode %d:\n%s", name, mode,
			       seed, s0.p, mode, s.p);
			same = 0;
		}
	}
	buf_free(&s0);
	buf_free(&s);
	return same;
}

/* Re-serialise JSON text compactly (or "" when it does not parse as an object). */
static const char *
canon(const char *s, size_t n)
{
	static struct buf out;
	struct json j;
	struct jw w;
	out.len = 0;
	buf_adds(&out, "");
	if (json_parse(&j, s, n, pool, 4096) <= 0 || pool[0].type != JSMN_OBJECT)
		return "";
	jw_init(&w, jw_sink_buf, &out);
	if (json_copy(&w, &j, 0))
		return "";
	return out.p;
}

struct stream_want {
	const char *name;
	int code;                 /* feed result */
	const char *stop;
	long long in, out, cread, cwrite;
	int nb;
};

static const struct stream_want wants[] = {
	{ "apirec-structured-output", 0, "end_turn", 135, 10, 0, 0, 1 },
	{ "apirec-tool-call-only", 0, "tool_use", 656, 74, 0, 0, 1 },
	{ "apirec-tool-result-answer", 0, "end_turn", 770, 38, 0, 0, 1 },
	{ "docs-basic", 0, "end_turn", 25, 15, 0, 0, 1 },
	{ "docs-citations", 0, "end_turn", 25, 15, 0, 0, 1 },
	{ "docs-error-overloaded", AG_E_API, "", 25, 1, 0, 0, 1 },
	{ "docs-extended-thinking", 0, "end_turn", 0, 0, 0, 0, 2 },
	{ "docs-tool-use", 0, "tool_use", 472, 89, 0, 0, 2 },
	{ "docs-web-search", 0, "end_turn", 10682, 510, 0, 0, 4 },
	{ "sdkpy-compaction-block", 0, "end_turn", 30, 8, 0, 0, 2 },
	{ "sdkpy-max-tokens-partial-json", 0, "max_tokens", 450, 124, 0, 0, 2 },
	{ "sdkpy-tool-use-caller", 0, "tool_use", 377, 65, 0, 0, 2 },
	{ "sdkts-long-markdown", 0, "end_turn", 31, 547, 0, 0, 1 },
};

static int
load(const char *name, const char *ext, struct buf *b)
{
	char path[PATH_MAX];
	b->len = 0;
	buf_adds(b, "");
	snprintf(path, sizeof path, "%s/%s%s", dir, name, ext);
	return file_read_all(path, b, 16 * 1024 * 1024);
}

#define S_INPUT "{\"location\": \"San Francisco, CA\", \"unit\": \"fahrenheit\"}"
#define S_COMPACTION "{\"type\":\"compaction\",\"content\":null,\"encrypted_content\":null}"
#define S_WSR "{\"type\":\"web_search_tool_result\",\"tool_use_id\":\"srvtoolu_014hJH82Qum7Td6UV8gDXThB\",\"content\":" \
              "[{\"type\":\"web_search_result\",\"title\":\"Weather in New York City in May 2025 (New York) - detailed " \
              "Weather Forecast for a month\",\"url\":\"https://world-weather.info/forecast/usa/new_york/may-2025/\"," \
              "\"encrypted_content\":\"Ev0DCioIAxgCIiQ3NmU4ZmI4OC1k...\",\"page_age\":null}]}"

/* Checks that only some streams have. */
static void
stream_specific(const char *name)
{
	struct json j;
	int r;
	if (!strcmp(name, "docs-tool-use")) {
		const struct api_block *b = &m.b[1];
		T_CHECK(b->type == BLK_TOOL_USE && bufeq(&b->id, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", 30) &&
		        !strcmp(b->name, "get_weather") && b->stopped, "docs-tool-use: tool_use block id, name, stopped");
		r = json_parse(&j, b->input.p ? b->input.p : "", b->input.len, pool, 4096);
		T_CHECK(r == 5 && pool[0].type == JSMN_OBJECT && pool[0].size == 2,
		        "docs-tool-use: the joined partial_json parses as an object of two keys");
		T_CHECK(bufeq(&b->input, S_INPUT, sizeof S_INPUT - 1), "docs-tool-use: the joined partial_json is the input text");
		T_CHECK(!strcmp(canon(b->input.p, b->input.len), "{\"location\":\"San Francisco, CA\",\"unit\":\"fahrenheit\"}"),
		        "docs-tool-use: input equals {\"location\":\"San Francisco, CA\",\"unit\":\"fahrenheit\"}");
		T_CHECK(!strcmp(m.id, "msg_014p7gG3wDgGV9EUtLvnow3U"), "docs-tool-use: message id from message_start");
	} else if (!strcmp(name, "docs-extended-thinking")) {
		static const char think[] = "Let me solve this step by step:\n\n1. First break down 27 * 453\n2. 453 = 400 + 50 + 3"
		                            "\n3. 27 * 400 = 10,800\n4. 27 * 50 = 1,350\n5. 27 * 3 = 81\n6. 10,800 + 1,350 + 81 = 12,231";
		static const char sig[] = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds...";
		const struct api_block *b = &m.b[0];
		T_CHECK(b->type == BLK_THINKING && bufeq(&b->text, think, sizeof think - 1),
		        "docs-extended-thinking: thinking text joined from 6 deltas, escapes decoded");
		T_CHECK(bufeq(&b->sig, sig, sizeof sig - 1), "docs-extended-thinking: signature from signature_delta");
		T_CHECK(bufeq(&s_think, think, sizeof think - 1), "docs-extended-thinking: the sink saw the same thinking text");
		T_CHECK(block_text_is(1, "27 * 453 = 12,231", 17),
		        "docs-extended-thinking: the text block after the thinking block");
	} else if (!strcmp(name, "sdkpy-compaction-block")) {
		const struct api_block *b = &m.b[0];
		r = json_parse(&j, b->raw.p ? b->raw.p : "", b->raw.len, pool, 4096);
		T_CHECK(b->type == BLK_OTHER && r > 0 && pool[0].type == JSMN_OBJECT && json_eq(&j, json_get(&j, 0, "type"), "compaction"),
		        "sdkpy-compaction-block: the compaction block is BLK_OTHER with valid raw JSON of its type");
		T_CHECK(bufeq(&b->raw, S_COMPACTION, sizeof S_COMPACTION - 1), "sdkpy-compaction-block: raw is the block as it started");
		T_CHECK(b->stopped && b->text.len == 0, "sdkpy-compaction-block: compaction_delta skipped without error, block stopped");
	} else if (!strcmp(name, "docs-web-search")) {
		const struct api_block *b1 = &m.b[1], *b2 = &m.b[2];
		int c;
		r = json_parse(&j, b1->raw.p ? b1->raw.p : "", b1->raw.len, pool, 4096);
		T_CHECK(b1->type == BLK_OTHER && r > 0 && json_eq(&j, json_get(&j, 0, "type"), "server_tool_use") &&
		        json_eq(&j, json_get(&j, 0, "id"), "srvtoolu_014hJH82Qum7Td6UV8gDXThB"),
		        "docs-web-search: server_tool_use kept as BLK_OTHER with valid raw JSON");
		r = json_parse(&j, b2->raw.p ? b2->raw.p : "", b2->raw.len, pool, 4096);
		c = json_get(&j, 0, "content");
		T_CHECK(b2->type == BLK_OTHER && r > 0 && json_eq(&j, json_get(&j, 0, "type"), "web_search_tool_result") &&
		        c > 0 && j.t[c].type == JSMN_ARRAY && j.t[c].size == 1 &&
		        json_eq(&j, json_get(&j, c + 1, "url"), "https://world-weather.info/forecast/usa/new_york/may-2025/"),
		        "docs-web-search: web_search_tool_result kept as BLK_OTHER with its result list");
		T_CHECK(bufeq(&b2->raw, S_WSR, sizeof S_WSR - 1), "docs-web-search: web_search_tool_result raw is the block re-serialised");
		/* The server_tool_use input arrives in input_json_delta events, like a tool_use's; the block as it
		 * started says "input":{}. What goes back to the API in the next turn must carry the real input. */
		r = json_parse(&j, b1->raw.p ? b1->raw.p : "", b1->raw.len, pool, 4096);
		T_CHECK(r > 0 && json_eq(&j, json_path(&j, 0, "input.query"), "weather NYC today"),
		        "docs-web-search: server_tool_use keeps the input its input_json_deltas carried (query 'weather NYC today')");
	} else if (!strcmp(name, "docs-error-overloaded")) {
		T_CHECK(e.code == AG_E_API && strstr(e.msg, "overloaded_error") && strstr(e.msg, "Overloaded"),
		        "docs-error-overloaded: AG_E_API naming overloaded_error (%s)", e.msg);
		T_CHECK(!m.stopped, "docs-error-overloaded: the message is not marked stopped");
	} else if (!strcmp(name, "sdkpy-max-tokens-partial-json")) {
		const struct api_block *b = &m.b[1];
		T_CHECK(b->type == BLK_TOOL_USE && !b->stopped && b->input.len > 0 &&
		        json_parse(&j, b->input.p, b->input.len, pool, 4096) < 0,
		        "sdkpy-max-tokens-partial-json: the cut tool_use is unstopped, its input incomplete JSON");
	} else if (!strcmp(name, "apirec-tool-call-only") || !strcmp(name, "sdkpy-tool-use-caller")) {
		int i = m.nb - 1;
		const struct api_block *b = &m.b[i];
		const char *want = name[0] == 'a' ? "{\"location\":\"San Francisco, CA\",\"units\":\"f\"}" : "{\"location\":\"Paris\"}";
		T_CHECK(b->type == BLK_TOOL_USE && b->stopped && !strcmp(b->name, "get_weather") && b->id.len > 0 &&
		        !strcmp(canon(b->input.p ? b->input.p : "", b->input.len), want),
		        "%s: tool_use input is %s", name, want);
	}
}

static void
real_streams(void)
{
	struct buf sse = {0}, exp = {0}, tb = {0};
	size_t k;
	for (k = 0; k < sizeof wants / sizeof wants[0]; k++) {
		const struct stream_want *w = &wants[k];
		int r, same, i, allstopped = 1;
		if (load(w->name, ".sse", &sse) || load(w->name, ".expected", &exp)) {
			T_SKIP(w->name, "cannot read it from %s", dir);
			continue;
		}
		same = feed3(w->name, sse.p, sse.len, &r);
		T_CHECK(same, "%s: whole, one byte and random splits agree", w->name);
		T_CHECK(r == w->code && e.code == w->code, "%s: stream result %d (want %d) %s", w->name, r, w->code, e.msg);
		r = text_blocks(&tb);
		T_CHECK(r == 0 && bufeq(&tb, exp.p, exp.len), "%s: text of the text blocks equals .expected", w->name);
		T_CHECK(bufeq(&s_text, exp.p, exp.len), "%s: text through the sink equals .expected", w->name);
		T_CHECK(!strcmp(m.stop_reason, w->stop), "%s: stop_reason '%s' (want '%s')", w->name, m.stop_reason, w->stop);
		T_CHECK(m.usage.input == w->in && m.usage.output == w->out && m.usage.cache_read == w->cread &&
		        m.usage.cache_write == w->cwrite, "%s: usage %lld/%lld/%lld/%lld (want %lld/%lld/%lld/%lld)", w->name,
		        m.usage.input, m.usage.output, m.usage.cache_read, m.usage.cache_write, w->in, w->out, w->cread,
		        w->cwrite);
		for (i = 0; i < m.nb; i++)
			allstopped &= m.b[i].stopped;
		if (w->code == 0 && strcmp(w->name, "sdkpy-max-tokens-partial-json"))
			T_CHECK(m.started && m.stopped && m.nb == w->nb && allstopped,
			        "%s: started, message_stop seen, %d blocks all stopped", w->name, w->nb);
		stream_specific(w->name);
	}
	buf_free(&sse);
	buf_free(&exp);
	buf_free(&tb);
}

/* A hostile event after a good start: the feed result, the error code and a word in e.msg. */
static void
hostile(const char *name, const char *events, int code, const char *word)
{
	struct buf in = {0};
	int r, same;
	buf_adds(&in, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_x\",\"usage\":"
	              "{\"input_tokens\":1,\"output_tokens\":1}}}\n\n"
	              "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
	              "{\"type\":\"text\",\"text\":\"\"}}\n\n"
	              "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
	              "{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n");
	buf_adds(&in, events);
	same = feed3(name, in.p, in.len, &r);
	T_CHECK(same && r == code && e.code == code && (!word || strstr(e.msg, word)) && s_text.len >= 2 && !memcmp(s_text.p, "hi", 2),
	        "%s (r=%d code=%d msg='%s')", name, r, e.code, e.msg);
	buf_free(&in);
}

int
main(void)
{
	struct stat st;
	const char *env = getenv("T_SEED");
	if (env && *env)
		t_seed = (unsigned)strtoul(env, NULL, 10);
	dir = getenv("REAL_STREAMS");
	if (!dir || stat(dir, &st) < 0)
		dir = "../shared/real-streams";
	if (stat(dir, &st) < 0)
		dir = "/work/shared/real-streams";
	if (stat(dir, &st) < 0)
		T_SKIP("real streams", "no real-streams folder (set REAL_STREAMS)");
	else
		real_streams();

	hostile("an unknown event name is skipped, even with invalid JSON",
	        "event: future_event\ndata: {not json at all\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
	        0, NULL);
	T_CHECK(m.stopped, "after an unknown event the stream goes on (message_stop seen)");
	hostile("an unknown type inside a known event is skipped",
	        "event: message_delta\ndata: {\"type\":\"future_type\",\"x\":1}\n\n", 0, NULL);
	hostile("an event with invalid JSON is AG_E_API",
	        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\n\n", AG_E_API, "JSON");
	hostile("an event whose data is a JSON array is AG_E_API", "event: message_delta\ndata: [1,2]\n\n", AG_E_API,
	        "JSON");
	hostile("an unnamed event with invalid JSON is AG_E_API", "data: nope\n\n", AG_E_API, "JSON");
	{
		struct buf ev = {0};
		int i;
		buf_adds(&ev, "event: message_delta\ndata: {\"type\":\"message_delta\",\"x\":[");
		for (i = 0; i < AG_JSON_TOKENS + 8; i++)
			buf_adds(&ev, i ? ",1" : "1");
		buf_adds(&ev, "]}\n\n");
		hostile("an event with more tokens than AG_JSON_TOKENS is an error, no crash", ev.p, AG_E_API, "JSON values");
		buf_free(&ev);
	}
	hostile("content_block_start at index 999 is an error",
	        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":999,\"content_block\":"
	        "{\"type\":\"text\",\"text\":\"\"}}\n\n", AG_E_API, "index");
	hostile("content_block_delta at index 999 is an error",
	        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":999,\"delta\":"
	        "{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n", AG_E_API, "index");
	hostile("content_block_start at index -1 is an error",
	        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":-1,\"content_block\":"
	        "{\"type\":\"text\",\"text\":\"\"}}\n\n", AG_E_API, "index");
	hostile("content_block_stop at index AG_API_BLOCKS is an error",
	        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":64}\n\n",
	        AG_API_BLOCKS == 64 ? AG_E_API : 0, AG_API_BLOCKS == 64 ? "index" : NULL);
	hostile("a block index given as a string is an error",
	        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":\"0\",\"delta\":"
	        "{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n", AG_E_API, "index");
	hostile("a text_delta for a block never started is ignored",
	        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":5,\"delta\":"
	        "{\"type\":\"text_delta\",\"text\":\"stray\"}}\n\n"
	        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":6,\"delta\":"
	        "{\"type\":\"input_json_delta\",\"partial_json\":\"{\"}}\n\n", 0, NULL);
	T_CHECK(m.b[5].type == BLK_NONE && m.b[5].text.len == 0 && m.b[6].input.len == 0,
	        "a delta for a block never started leaves that block empty");
	{
		struct buf ev = {0}, id = {0};
		int i;
		buf_adds(&id, "toolu_");
		for (i = 0; i < 300; i++)
			buf_add(&id, &"abcdefghij"[i % 10], 1);
		buf_printf(&ev, "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,"
		           "\"content_block\":{\"type\":\"tool_use\",\"id\":\"");
		buf_add(&ev, id.p, id.len);
		buf_adds(&ev, "\",\"name\":\"bash\",\"input\":{}}}\n\n");
		hostile("a tool_use with a 306-byte id", ev.p, 0, NULL);
		T_CHECK(m.b[1].type == BLK_TOOL_USE && bufeq(&m.b[1].id, id.p, id.len) && !strcmp(m.b[1].name, "bash"),
		        "a tool_use id of 306 bytes is kept whole");
		buf_free(&ev);
		buf_free(&id);
	}
	hostile("a text_delta whose text is not a string is AG_E_API",
	        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
	        "{\"type\":\"text_delta\",\"text\":5}}\n\n", AG_E_API, "text");
	hostile("content_block_start without a content block is AG_E_API",
	        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1}\n\n", AG_E_API,
	        "content block");
	hostile("an error event is AG_E_API with its type and message",
	        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"Internal server "
	        "error\"}}\n\n", AG_E_API, "api_error");
	hostile("ping events are ignored, whatever they hold", "event: ping\ndata: {not json\n\n", 0, NULL);
	hostile("text_delta escapes are decoded",
	        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
	        "{\"type\":\"text_delta\",\"text\":\"\\u00e9\\n\\ud83c\\udf89\"}}\n\n", 0, NULL);
	T_CHECK(block_text_is(0, "hi\xC3\xA9\n\xF0\x9F\x8E\x89", 9), "text_delta escapes decoded to UTF-8 in the block text");
	hostile("a UTF-8 character split across two text deltas",
	        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
	        "{\"type\":\"text_delta\",\"text\":\"\xE2\x82\"}}\n\n"
	        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
	        "{\"type\":\"text_delta\",\"text\":\"\xAC!\"}}\n\n"
	        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n", 0, NULL);
	T_CHECK(block_text_is(0, "hi\xE2\x82\xAC!", 6), "a UTF-8 character split across two text deltas is whole in the block");
	hostile("a text block ending in half a UTF-8 character",
	        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
	        "{\"type\":\"text_delta\",\"text\":\"\xE2\x82\"}}\n\n"
	        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n", 0, NULL);
	T_CHECK(block_text_is(0, "hi\xEF\xBF\xBD", 5) || block_text_is(0, "hi\xEF\xBF\xBD\xEF\xBF\xBD", 8),
	        "a text block ending in half a UTF-8 character ends in U+FFFD and stays valid JSON");
	hostile("quotes, backslashes and controls in text stay valid JSON in the block",
	        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
	        "{\"type\":\"text_delta\",\"text\":\"\\\"q\\\" \\\\ \\t\\u0001\"}}\n\n"
	        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n", 0, NULL);
	T_CHECK(block_text_is(0, "hi\"q\" \\ \t\x01", 10), "quotes, backslashes and controls round-trip through the block");

	api_msg_free(&m);
	buf_free(&s_text);
	buf_free(&s_think);
	buf_free(&s_starts);
	return t_done();
}
