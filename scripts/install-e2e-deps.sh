#!/usr/bin/env bash
# Installs what the end-to-end tests (test/e2e) need, from Debian's packages only:
#   - SimpleSAMLphp (Debian bookworm ships 1.19.x in /usr/share/simplesamlphp, config in /etc/simplesamlphp;
#     the tests never use that config: they generate their own and point SIMPLESAMLPHP_CONFIG_DIR at it),
#   - the PHP CLI (its built-in web server `php -S` serves the IdP) with the extensions SimpleSAMLphp uses,
#   - Chromium (driven headless by playwright-core; no browser download).
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
  # so apt pulls apache2 in; the tests never start it (they serve SimpleSAMLphp with `php -S` on loopback).
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  echo "[install-e2e-deps] installed: ${missing[*]}"
fi

ssp_version="$(dpkg-query -W -f='${Version}' simplesamlphp 2>/dev/null || echo '?')"
echo "[install-e2e-deps] simplesamlphp ${ssp_version} in /usr/share/simplesamlphp (www: /usr/share/simplesamlphp/www)"
echo "[install-e2e-deps] $(php -r 'echo "php ", PHP_VERSION;')"
echo "[install-e2e-deps] $(chromium --version 2>/dev/null || echo 'chromium: version unknown') at $(command -v chromium)"
