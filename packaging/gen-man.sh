#!/usr/bin/env bash
# Generates the man pages at build time from one source each, so they cannot drift:
#   azkm.1           from the CLI itself: `azkm --help` and `azkm <command> --help` for every command
#   azkm-provider.7  from docs/provider.md and docs/uri.md (a plain Markdown to roff conversion)
#   azkmd.8          from the server itself (`azkmd --help`) and docs/server.md's "Configuration" table, the one
#                    list of settings, and its paragraph on --check-config and SIGTERM (written when AZKMD is given)
#   gen-man.sh AZKM SOURCE_DIR OUT_DIR [AZKMD]
set -euo pipefail
azkm=$1 src=$2 out=$3 azkmd=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
ver=$("$azkm" version | awk 'NR == 1 { print $2 }')

# roff-escape plain text: backslashes, and a leading dot or quote that roff would take as a request.
esc() { sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"; }
literal() { printf '.nf\n'; esc; printf '.fi\n'; }

{
    printf '.TH AZKM 1 "" "azkm %s" "azkm manual"\n' "$ver"
    printf '.SH NAME\nazkm \\- administer the azkm keystore: vaults, keys, rotation, BYOK, envelope encryption\n'
    printf '.SH SYNOPSIS\n.B azkm\n[global flags] <group> <command> [flags]\n'
    printf '.SH DESCRIPTION\n'
    "$azkm" --help | literal
    printf '.SH COMMANDS\n'
    while read -r cmd; do
        printf '.SS "azkm %s"\n' "$cmd"
        # shellcheck disable=SC2086
        "$azkm" $cmd --help | literal
    done < <(bash "$here/commands.sh" "$azkm")
    printf '.SH FILES\n.TP\n/etc/azkm/azkm.conf\nconfiguration (keystore_dir)\n'
    printf '.TP\n/var/lib/azkm\nthe keystore (root)\n'
    printf '.SH SEE ALSO\n.BR azkm-provider (7),\n.BR openssl (1)\n'
} >"$out/azkm.1"

{
    printf '.TH AZKM-PROVIDER 7 "" "azkm %s" "azkm manual"\n' "$ver"
    printf '.SH NAME\nazkm-provider \\- the azkm OpenSSL 3 provider: configuration, azkm:// URIs, key reference files\n'
    md2roff() { awk '
        function e(s) { gsub(/\\/, "\\e", s); if (s ~ /^[.\047]/) s = "\\&" s; return s }
        /^<!-- .* -->$/ { next }
        /^```/ { code = !code; print (code ? ".nf" : ".fi"); next }
        code { print e($0); next }
        /^# / { next }
        /^## / { sub(/^## /, ""); print ".SH \"" toupper($0) "\""; next }
        /^###+ / { sub(/^###+ /, ""); print ".SS \"" $0 "\""; next }
        /^$/ { print ".PP"; next }
        /^- / { sub(/^- /, ""); print ".IP \\(bu 2"; print e($0); next }
        { print e($0) }
    ' "$1"; }
    md2roff "$src/docs/provider.md"
    printf '.SH "AZKM:// URIS"\n'
    md2roff "$src/docs/uri.md" | sed -e 's/^\.SH "/.SS "/'
    printf '.SH SEE ALSO\n.BR azkm (1),\n.BR config (5ssl),\n.BR provider (7ssl)\n'
} >"$out/azkm-provider.7"

[ -n "$azkmd" ] || exit 0
# docs/server.md's "## Configuration" section: its prose, then each table row as a tagged paragraph.
config_section() { awk '
    function e(s) { gsub(/`/, "", s); gsub(/\\/, "\\e", s); if (s ~ /^[.\047]/) s = "\\&" s; return s }
    function trim(s) { sub(/^ +/, "", s); sub(/ +$/, "", s); return s }
    /^## / { on = ($0 == "## Configuration"); next }
    !on { next }
    /^\| *setting *\|/ || /^\|---/ { next }
    /^\|/ { n = split($0, c, "|"); print ".TP"; print "\\fB" e(trim(c[2])) "\\fR";
             d = trim(c[3]); print e(trim(c[4])) (d == "" ? "" : " (default: " e(d) ")"); next }
    /^$/ { next }
    { print e($0) }
' "$src/docs/server.md"; }
{
    printf '.TH AZKMD 8 "" "azkm %s" "azkm manual"\n' "$ver"
    printf '.SH NAME\nazkmd \\- the azkm keystore'"'"'s vaults as a service, over Azure Key Vault'"'"'s keys REST API\n'
    printf '.SH SYNOPSIS\n.B azkmd\n[\\-\\-config FILE] [\\-\\-check\\-config]\n.br\n.B azkmd\n\\-\\-dev\n'
    printf '.SH DESCRIPTION\n'
    "$azkmd" --help | literal
    printf '.SH CONFIGURATION\n'
    config_section
    printf '.SH "CHECKING AND STOPPING"\n' # server.md's paragraph on --check-config and SIGTERM
    awk '/^`--check-config` reads/ { on = 1 } on && /^$/ { exit } on { gsub(/`/, ""); print }' "$src/docs/server.md" | esc
    printf '.SH FILES\n.TP\n/etc/azkm/azkmd.conf\nthe configuration (a conffile of the package)\n'
    printf '.TP\n/var/lib/azkmd, /var/log/azkmd\nthe keystore and the audit log of the package'"'"'s configuration, '
    printf 'owned by the system user azkm\n'
    printf '.TP\n/lib/systemd/system/azkmd.service\nthe systemd unit (not enabled by the package)\n'
    printf '.SH SEE ALSO\n.BR azkm (1),\n.BR azkm-provider (7),\n/usr/share/doc/azkm/server.md\n'
} >"$out/azkmd.8"
