#!/usr/bin/env bash
# Idempotent: real PyTorch for the tests that hand our files to it (test/safetensors-python.test.ts,
# test/pytorch-continue.test.ts: DistributedDataParallel on 2 CPU processes), for the bench's native PyTorch
# rows, and for regenerating the goldens: Debian's python3-torch 1.13 and python3-torchvision 0.14, and a
# venv over them (.venv, --system-site-packages) with test/golden/requirements.txt (safetensors and the
# reference optimizers). Nothing else needs Python: the other suites read committed vectors. Where it cannot
# install (not root, no registry), it says so and exits 0; those two tests then report themselves skipped.
set -uo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup-python] %s\n' "$*" >&2; }

APT_PKGS=(python3-torch python3-torchvision python3-venv)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    say "skipped: missing Debian packages ${missing[*]} (install them as root to run the PyTorch tests)"
    exit 0
  fi
  say "installing Debian packages: ${missing[*]}"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
    say "skipped: apt-get could not install ${missing[*]}"
    exit 0
  fi
fi

# The venv is rebuilt only when requirements.txt is newer than its stamp.
stamp=.venv/.requirements-installed
if [ ! -f "$stamp" ] || [ test/golden/requirements.txt -nt "$stamp" ]; then
  say "venv .venv (pip install -r test/golden/requirements.txt)"
  rm -rf .venv
  if ! { /usr/bin/python3 -m venv --system-site-packages .venv &&
    .venv/bin/pip install -q --disable-pip-version-check -r test/golden/requirements.txt; }; then
    say "skipped: the venv could not be built"
    rm -rf .venv
    exit 0
  fi
  touch "$stamp"
fi
