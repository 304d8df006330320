#!/usr/bin/env python3
"""The "browser" of the MCP conformance runs (test/mcp_conformance.py sets BROWSER to run this).

    python3 test/oauth_browser.py URL

agent runs `$BROWSER "URL"` with the authorization URL. The conformance suite's authorization server answers
GET /authorize at once with a 302 to the redirect_uri (no login page, no consent), so this GETs URL without
following redirects, reads the Location of the 302 and GETs that: the redirect_uri, which is agent's loopback
listener (http://127.0.0.1:PORT/callback?code=...). Nothing on stdout; errors on stderr; exit status 0 when
both requests got an answer below 400. Python 3 standard library only.
"""
import http.client
import sys
import urllib.parse

TIMEOUT = 10


def get(url):
    """(status, headers, body) of one GET of url; redirects are not followed."""
    u = urllib.parse.urlsplit(url)
    if u.scheme not in ("http", "https"):
        raise ValueError("not an http(s) URL: %r" % url)
    conn_cls = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
    conn = conn_cls(u.hostname, u.port, timeout=TIMEOUT)
    target = (u.path or "/") + ("?" + u.query if u.query else "")
    try:
        conn.request("GET", target, headers={"Accept": "text/html,*/*", "User-Agent": "oauth_browser.py"})
        r = conn.getresponse()
        return r.status, r, r.read()
    finally:
        conn.close()


def main(argv):
    if len(argv) < 2:
        print("usage: oauth_browser.py URL", file=sys.stderr)
        return 2
    url = argv[-1]
    try:
        status, resp, body = get(url)
    except Exception as e:  # noqa: BLE001
        print("oauth_browser: GET %s: %s" % (url, e), file=sys.stderr)
        return 1
    if status not in (301, 302, 303, 307, 308):
        print("oauth_browser: GET %s: status %d, not a redirect: %r" % (url, status, body[:300]), file=sys.stderr)
        return 1
    loc = resp.getheader("Location")
    if not loc:
        print("oauth_browser: GET %s: %d without a Location" % (url, status), file=sys.stderr)
        return 1
    loc = urllib.parse.urljoin(url, loc)
    try:
        status, resp, body = get(loc)
    except TimeoutError:
        print("oauth_browser: GET %s (the redirect): no answer in %d s (does agent wait for $BROWSER to exit "
              "before it serves its callback?)" % (loc, TIMEOUT), file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001
        print("oauth_browser: GET %s (the redirect): %s" % (loc, e), file=sys.stderr)
        return 1
    if status >= 400:
        print("oauth_browser: GET %s (the redirect): status %d: %r" % (loc, status, body[:300]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
