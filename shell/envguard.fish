# envguard shell integration for fish.
#
# Before every prompt and after every directory change, `envguard export fish` prints the
# statements that load the nearest .env (or unload the previous one); this hook sources them.
# It prints nothing when nothing changed, which is almost always. Defining the function again
# replaces it, so sourcing this file twice registers the hook once.

set -g __envguard_exe @ENVGUARD_EXE@

function __envguard_hook --on-event fish_prompt --on-variable PWD
    set -l __envguard_status $status
    command $__envguard_exe export fish | source
    return $__envguard_status
end

# To load .env files as you change directory, add this line to ~/.config/fish/config.fish:
#   envguard hook fish | source
