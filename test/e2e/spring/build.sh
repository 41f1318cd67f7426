#!/usr/bin/env bash
# Builds the Spring Boot fixture jars used by the real-stack (e2e) tests:
#   eureka-server/target/eureka-server.jar
#   demo-service/target/demo-service.jar
#   gateway/target/gateway.jar
# and with --with-zuul also the optional legacy zuul-gateway/target/zuul-gateway.jar (Boot 2.3 / Hoxton).
# Works from any directory. Idempotent: if every jar is newer than every pom.xml and source file,
# Maven is not run at all (pass --force, or set FORCE=1, to rebuild anyway).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
jars=(eureka-server/target/eureka-server.jar demo-service/target/demo-service.jar gateway/target/gateway.jar)

force="${FORCE:-0}"
profiles=()
for arg in "$@"; do
  case "$arg" in
    --force|-f) force=1 ;;
    --with-zuul) profiles=(-Pzuul); jars+=(zuul-gateway/target/zuul-gateway.jar) ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument: $arg (known: --force, --with-zuul)" >&2; exit 2 ;;
  esac
done

if ! command -v java >/dev/null 2>&1; then
  echo "build.sh: 'java' not found on PATH. Install a JDK 17 or newer (Debian/Ubuntu: apt-get install openjdk-17-jdk-headless)." >&2
  exit 1
fi
if ! command -v mvn >/dev/null 2>&1; then
  echo "build.sh: 'mvn' not found on PATH. Install Apache Maven 3.6.3 or newer (Debian/Ubuntu: apt-get install maven)." >&2
  exit 1
fi
java_major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p' | head -n1)"
java_major="${java_major#1.}"
if [[ -n "$java_major" && "$java_major" =~ ^[0-9]+$ && "$java_major" -lt 17 ]]; then
  echo "build.sh: Java $java_major found, but Spring Boot 4 needs a JDK 17 or newer (apt-get install openjdk-17-jdk-headless)." >&2
  exit 1
fi

up_to_date() {
  local jar newer
  for jar in "${jars[@]}"; do
    [[ -f "$here/$jar" ]] || return 1
    newer="$(find "$here" -path '*/target' -prune -o \( -name pom.xml -o -path '*/src/*' \) -type f -newer "$here/$jar" -print -quit)"
    [[ -z "$newer" ]] || return 1
  done
  return 0
}

if [[ "$force" != 1 ]] && up_to_date; then
  echo "build.sh: Spring fixture jars are up to date (use --force to rebuild)."
  exit 0
fi

echo "build.sh: building Spring fixture jars with Maven (the first run downloads dependencies, a few minutes)..."
# -q keeps Maven quiet; the sed drops the bare colour-reset codes Debian's Maven 3.8 prints even with -B -q.
mvn -B -q -Dstyle.color=never -f "$here/pom.xml" ${profiles[@]+"${profiles[@]}"} -DskipTests package 2>&1 | { sed -e 's/\x1b\[0m//g' -e '/^[[:space:]]*$/d' || true; }

for jar in "${jars[@]}"; do
  if [[ ! -f "$here/$jar" ]]; then
    echo "build.sh: Maven finished but $here/$jar is missing." >&2
    exit 1
  fi
  # Maven leaves an unchanged jar's mtime alone; touch it so the up-to-date check above holds next time.
  touch "$here/$jar"
done
echo "build.sh: built ${jars[*]} under $here"
