# bash completion for lua-databricks' databricks-oauth-* commands.
# Generated from the programs' --help (lua/databricks/cli/completion.lua): do not edit; run make completion.
# Install: source it from ~/.bashrc, or copy it to ~/.local/share/bash-completion/completions/ under each
# command's name (or /usr/share/bash-completion/completions/).
_dbx_prefixes_databricks_oauth_rotator___output='pgpass: pgbouncer: env: json:'
_dbx_choices_databricks_oauth_rotator___auth='m2m u2m cli oidc'
_dbx_opts_databricks_oauth_rotator='--workspace-url --pg-host --pg-port --pg-database --pg-username --pgpass-file --log-file --status-file --interval --instance-name --endpoint --ttl --output --on-rotate --auth --ca-bundle --timeout --retry-budget --client-id --client-secret-file --token-store --oidc-token-file --oidc-token-env --token-audience --account-id --profile --verbose --config --once --json --check --version --help'
_dbx_files_databricks_oauth_rotator='--pgpass-file --log-file --status-file --ca-bundle --client-secret-file --token-store --oidc-token-file --config'
_dbx_values_databricks_oauth_rotator='--workspace-url --pg-host --pg-port --pg-database --pg-username --interval --instance-name --endpoint --ttl --on-rotate --timeout --retry-budget --client-id --oidc-token-env --token-audience --account-id --profile'
_dbx_choices_databricks_oauth_install___platform='systemd launchd'
_dbx_prefixes_databricks_oauth_install___output='pgpass: pgbouncer: env: json:'
_dbx_choices_databricks_oauth_install___auth='m2m u2m cli oidc'
_dbx_opts_databricks_oauth_install='--platform --dry-run --no-verify --linger --version --help --workspace-url --pg-host --pg-port --pg-database --pg-username --pgpass-file --log-file --status-file --interval --instance-name --endpoint --ttl --output --on-rotate --auth --ca-bundle --timeout --retry-budget --client-id --client-secret-file --token-store --oidc-token-file --oidc-token-env --token-audience --account-id --profile --verbose --config'
_dbx_files_databricks_oauth_install='--pgpass-file --log-file --status-file --ca-bundle --client-secret-file --token-store --oidc-token-file --config'
_dbx_values_databricks_oauth_install='--workspace-url --pg-host --pg-port --pg-database --pg-username --interval --instance-name --endpoint --ttl --on-rotate --timeout --retry-budget --client-id --oidc-token-env --token-audience --account-id --profile'
_dbx_choices_databricks_oauth_psql___auth='m2m u2m cli oidc'
_dbx_opts_databricks_oauth_psql='--workspace-url --pg-host --pg-port --pg-database --pg-username --instance-name --endpoint --ttl --auth --ca-bundle --timeout --retry-budget --client-id --client-secret-file --token-store --oidc-token-file --oidc-token-env --token-audience --account-id --profile --verbose --psql --version --help'
_dbx_files_databricks_oauth_psql='--ca-bundle --client-secret-file --token-store --oidc-token-file --psql'
_dbx_values_databricks_oauth_psql='--workspace-url --pg-host --pg-port --pg-database --pg-username --instance-name --endpoint --ttl --timeout --retry-budget --client-id --oidc-token-env --token-audience --account-id --profile'
_dbx_opts_databricks_oauth_login='--workspace-url --client-id --client-secret-file --redirect-uri --scopes --token-store --no-browser --timeout --ca-bundle --version --help'
_dbx_files_databricks_oauth_login='--client-secret-file --token-store --ca-bundle'
_dbx_values_databricks_oauth_login='--workspace-url --client-id --redirect-uri --scopes --timeout'
_dbx_choices_databricks_oauth_status___platform='systemd launchd'
_dbx_opts_databricks_oauth_status='--json --platform --status-file --version --help'
_dbx_files_databricks_oauth_status='--status-file'
_dbx_values_databricks_oauth_status=''
_dbx_choices_databricks_oauth_restart___platform='systemd launchd'
_dbx_opts_databricks_oauth_restart='--platform --dry-run --version --help'
_dbx_files_databricks_oauth_restart=''
_dbx_values_databricks_oauth_restart=''
_dbx_choices_databricks_oauth_uninstall___platform='systemd launchd'
_dbx_opts_databricks_oauth_uninstall='--purge --platform --dry-run --version --help'
_dbx_files_databricks_oauth_uninstall=''
_dbx_values_databricks_oauth_uninstall=''
_dbx_complete() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=
  ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD-1]}
  local prog=${1##*/}
  prog=${prog//[^a-zA-Z0-9]/_}
  local key=${prev//[^a-zA-Z0-9]/_}
  local files=_dbx_files_$prog values=_dbx_values_$prog opts=_dbx_opts_$prog
  local choices=_dbx_choices_${prog}_$key prefixes=_dbx_prefixes_${prog}_$key
  COMPREPLY=()
  if [[ " ${!files-} " == *" $prev "* ]]; then
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
  elif [[ -n ${!choices-} ]]; then
    mapfile -t COMPREPLY < <(compgen -W "${!choices}" -- "$cur")
  elif [[ -n ${!prefixes-} ]]; then
    if [[ $cur == *:* ]]; then
      local kind=${cur%%:*}
      mapfile -t COMPREPLY < <(compgen -f -- "${cur#*:}")
      COMPREPLY=("${COMPREPLY[@]/#/$kind:}")
    else
      mapfile -t COMPREPLY < <(compgen -W "${!prefixes}" -- "$cur")
      compopt -o nospace 2>/dev/null
    fi
  elif [[ " ${!values-} " == *" $prev "* ]]; then
    return 0
  elif [[ $cur == -* || -z $cur ]]; then
    mapfile -t COMPREPLY < <(compgen -W "${!opts-}" -- "$cur")
  fi
  return 0
}
complete -o default -F _dbx_complete databricks-oauth-rotator databricks-oauth-install databricks-oauth-psql databricks-oauth-login databricks-oauth-status databricks-oauth-restart databricks-oauth-uninstall
