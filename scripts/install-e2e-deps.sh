#!/usr/bin/env bash
# Installs what the end-to-end tests (test/e2e) need, from Debian's packages only:
#   - SimpleSAMLphp (Debian bookworm ships 1.19.x in /usr/share/simplesamlphp, config in /etc/simplesamlphp;
#     the tests never use that config: they generate their own and point SIMPLESAMLPHP_CONFIG_DIR at it),
#   - the PHP CLI (its built-in web server `php -S` serves the IdP) with the extensions SimpleSAMLphp uses,
#   - Chromium (driven headless by playwright-core; no browser download),
#   - Apache httpd with mod_auth_openidc (bookworm: 2.4.12.x), a second, independent OIDC relying party in front of
#     a small CGI app (test/e2e/apache-mod-auth-openidc.e2e-spec.ts starts its own apache2 from a generated config;
#     the system service is never used).
# Idempotent: installs only the packages that are missing, and runs `apt-get update` only when it has to
# install something. Must run as root (or with sudo available).
set -euo pipefail

PACKAGES=(
  simplesamlphp
  php-cli
  php-xml
  php-mbstring
  php-curl
  php-sqlite3
  openssl
  chromium
  fonts-liberation
  ca-certificates
  apache2
  libapache2-mod-auth-openidc
)

is_installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = "installed" ]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  if is_installed "$pkg"; then
    echo "[install-e2e-deps] already installed: $pkg"
  else
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "[install-e2e-deps] nothing to install"
else
  SUDO=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      SUDO=(sudo)
    else
      echo "[install-e2e-deps] must run as root (missing: ${missing[*]})" >&2
      exit 1
    fi
  fi
  echo "[install-e2e-deps] installing: ${missing[*]}"
  "${SUDO[@]}" apt-get update -qq
  # --no-install-recommends keeps the footprint down. SimpleSAMLphp's package depends on `apache2 | httpd`,
  # so apt may pull apache2 in; SimpleSAMLphp is never served by it (the tests serve it with `php -S` on loopback).
  # apache2 runs only as the mod_auth_openidc test's own process, from its own generated config.
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  echo "[install-e2e-deps] installed: ${missing[*]}"
fi

ssp_version="$(dpkg-query -W -f='${Version}' simplesamlphp 2>/dev/null || echo '?')"
echo "[install-e2e-deps] simplesamlphp ${ssp_version} in /usr/share/simplesamlphp (www: /usr/share/simplesamlphp/www)"
echo "[install-e2e-deps] $(php -r 'echo "php ", PHP_VERSION;')"
echo "[install-e2e-deps] $(apache2 -v 2>/dev/null | head -n 1 || echo 'apache2: version unknown'), mod_auth_openidc $(dpkg-query -W -f='${Version}' libapache2-mod-auth-openidc 2>/dev/null || echo '?')"
echo "[install-e2e-deps] $(chromium --version 2>/dev/null || echo 'chromium: version unknown') at $(command -v chromium)"
