#!/bin/sh
# The table of contents in agent.c's header comment, made from the section banners.
# --check: fail when it is stale; --write: rewrite it.
mode=$1; file=$2
want=$(grep -E '^/\* ==== [0-9]+\. ' "$file" | sed -E 's|^/\* ==== ([0-9]+)\. (.*) ==== \*/$|\1. \2|' |
	awk '{ printf " * %2d. %s\n", $1, substr($0, index($0, " ") + 1) }')
have=$(sed -n '/^ \* TOC-BEGIN$/,/^ \* TOC-END$/p' "$file" | sed '1d;$d')
if [ "$mode" = --check ]; then
	if [ "$want" = "$have" ]; then echo "ok - table of contents matches the section banners"
	else echo "not ok - table of contents is stale: run make toc"; printf '%s\n' "$want" | sed 's/^/    /'; exit 1; fi
else
	tmp=$file.toc.$$
	awk -v toc="$want" '/^ \* TOC-BEGIN$/ { print; print toc; skip = 1; next }
		/^ \* TOC-END$/ { skip = 0 } !skip { print }' "$file" > "$tmp" && mv "$tmp" "$file"
fi
