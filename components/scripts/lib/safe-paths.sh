# shellcheck shell=bash
# Paths the lab writes into or removes from are taken as they are spelled: no component may be a
# symbolic link. An output directory may sit below /tmp, where another user can prepare a folder (or
# swap one of the lab's folders for a link) so that a root `up` or `destroy` writes or deletes through
# it, somewhere the lab never meant. The program judges outputDir by its real path before anything
# runs; these scripts then refuse any link on the way instead of following it. Sourced, never run; the
# caller defines `log`.

# Prints the first component of path $1 (made absolute against the working directory), from the
# root down and including $1 itself, that is a symbolic link, and succeeds; fails when there is none.
# Components that do not exist yet end the walk: what is created below them is the lab's own.
symlink_on_path() {
    local rest at=""
    case "$1" in
    /*) rest="${1#/}" ;;
    *) rest="${PWD#/}/$1" ;;
    esac
    while [ -n "$rest" ]; do
        local part="${rest%%/*}"
        if [ "$part" = "$rest" ]; then rest=""; else rest="${rest#*/}"; fi
        if [ -z "$part" ] || [ "$part" = . ]; then continue; fi
        at="${at}/${part}"
        if [ -L "$at" ]; then
            printf '%s' "$at"
            return 0
        fi
        [ -e "$at" ] || return 1
    done
    return 1
}

# Exits 1, naming the link, when path $1 has a symbolic link on the way; $2 says what the path is for.
refuse_symlink_on_path() {
    local link
    if link="$(symlink_on_path "$1")"; then
        log "refusing ${2}: ${link} is a symbolic link, and the lab never writes or deletes through one" \
            "(it could point anywhere), so nothing was written or removed; replace it with a real folder" \
            "or choose another outputDir"
        exit 1
    fi
}
