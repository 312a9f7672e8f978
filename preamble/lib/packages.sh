# shellcheck shell=bash
# The package step: for each package manager of the strategy whose URL key is in effect, the URL and
# credential checks, then the manager's writer (managers/<manager>.sh), the report line and the log line.
# Part of the library sourced by proxy-config.sh (conventions there).
#
# A writer is called as `pc_write_<manager> URL AUTH USER PASS TOKEN`: the URL, the kind of credentials
# (token|basic|none) and their values (empty when the kind does not use them). It returns 0 when it
# wrote the manager's configuration, 1 when a value holds a character the format cannot carry, 2 when
# it could not write a file (pc_write_private has said which), 3 when the credentials are too long for
# the environment the client reads them from (Go's limit: refused here, naming the password key).

pc_configure_packages() {
    local manager key url url_key authority rule masked status
    local -A credentials
    for manager in ${PC_MANAGERS[$PC_STRATEGY]}; do
        key=pkg-$manager-url
        pc_lookup url url_key "$key" || { pc_report package "$manager" none "" && continue; }
        if ! pc_package_url_violation rule "$url" "$manager"; then
            pc_refuse "$url_key" "$rule"
            return 1
        fi
        pc_credentials credentials "$key"
        authority=${url#*://} authority=${authority%%/*}
        if [[ ${credentials[auth]} != none && $authority == *@* ]]; then
            pc_refuse "$url_key" url-credentials-conflict
            return 1
        fi
        # a client that resolves its paths against the URL keeps its last segment only after a '/'
        if [[ " $PC_DIRECTORY_BASE_MANAGERS " == *" $manager "* && $url != */ ]]; then url+=/; fi
        if [[ " $PC_PLUS_IS_SPACE_MANAGERS " == *" $manager "* ]]; then pc__plus_in_userinfo url "$url"; fi
        pc__credential_format_ok "$manager" "${credentials[auth]}" "${credentials[user_key]}" "${credentials[user]}" \
            "${credentials[pass_key]}" "${credentials[pass]}" || return 1
        if [[ " $PC_JVM_CONSTANTS_MANAGERS " == *" $manager "* ]]; then  # each a Groovy string constant (init script)
            pc__jvm_constant_ok "$url" || { pc_refuse "$url_key" gradle-literal-limit; return 1; }
            if [[ ${credentials[auth]} == basic ]]; then
                pc__jvm_constant_ok "${credentials[user]}" || { pc_refuse "${credentials[user_key]}" gradle-literal-limit; return 1; }
                pc__jvm_constant_ok "${credentials[pass]}" || { pc_refuse "${credentials[pass_key]}" gradle-literal-limit; return 1; }
            fi
        fi
        status=0
        "pc_write_$manager" "$url" "${credentials[auth]}" "${credentials[user]}" "${credentials[pass]}" \
            "${credentials[token]}" || status=$?
        case $status in
            0) ;;
            1) pc_fail "$url_key: a value holds a character the $manager configuration format cannot carry" ;;
            3) pc_refuse "${credentials[pass_key]}" go-environment-limit ;;
        esac
        ((status == 0)) || return 1
        pc_report package "$manager" "${credentials[auth]}" "$url_key" "${credentials[token_key]}" \
            "${credentials[user_key]}" "${credentials[pass_key]}"
        pc_mask_url masked "$url"
        pc_log "$manager: $masked (from $url_key, auth: ${credentials[auth]})"
    done
}
