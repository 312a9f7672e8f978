# shellcheck shell=bash
# NuGet: NuGet.Config where the .NET SDK reads it (~/.nuget/NuGet) and where nuget.exe on mono reads it
# (~/.config/NuGet), with the default source cleared. Writer protocol: packages.sh.

pc_write_nuget() {
    local url=$1 auth=$2 user=$3 pass=$4 out credentials=''
    local -A xml
    pc__xml_values xml "$url" "$auth" "$user" "$pass" || return 1
    if [[ $auth == basic ]]; then
        printf -v credentials '  <packageSourceCredentials>\n    <proxy-config>\n      <add key="Username" value="%s" />\n      <add key="ClearTextPassword" value="%s" />\n    </proxy-config>\n  </packageSourceCredentials>\n' "${xml[user]}" "${xml[pass]}"
    fi
    printf -v out '%s\n%s\n<configuration>\n  <packageSources>\n    <clear />\n    <add key="proxy-config" value="%s" />\n  </packageSources>\n%s</configuration>\n' \
        '<?xml version="1.0" encoding="utf-8"?>' '<!-- Written by the proxy-config build preamble. -->' "${xml[url]}" "$credentials"
    pc_write_private "$HOME/.nuget/NuGet/NuGet.Config" "$out" || return
    pc_handoff_location XDG_CONFIG_HOME
    pc_write_private "${XDG_CONFIG_HOME:-$HOME/.config}/NuGet/NuGet.Config" "$out"
}
