#!/usr/bin/env bash
# The installable-tool check (README "Install"; scripts/test.sh runs it after the xunit suite):
#   1. pack the mobileunet tool for this machine's platform (the top-level package and its RID package) into a
#      temporary folder, and check every package is under NuGet's 250 MB limit;
#   2. install it with `dotnet tool install --tool-path` from that folder alone (a private NuGet config: no
#      network, no other source can supply a package of the same name);
#   3. run the installed tool from outside the repository: `info`, `export --untrained` (libtorch, through the
#      tool's own copy of TorchSharp's native glue) and `predict` on a demo photo (ONNX Runtime, SkiaSharp), and
#      check the mask and overlay PNGs; when the build ships models (models/*.munet), check they are in the package
#      and that `predict -m NAME` finds them beside the installed assembly;
#   4. pack the libraries (MobileUNet.Core, MobileUNet.Training), build samples/Segment against MobileUNet.Core
#      alone and run it on a demo photo with an export and with a shipped model by name; check that no TorchSharp
#      or libtorch file reached it, and that a .munet gets the one-line answer that it needs MobileUNet.Training.
# Prints the transcript and ends with "pack-install: ok" (exit 0) or "pack-install: FAILED ..." (exit 1).
# Environment: CONFIGURATION (default Debug, reusing the test build), KEEP=1 keeps the temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

fail() { echo "pack-install: FAILED: $*" >&2; exit 1; }

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) rid=linux-x64 ;;
  Darwin-arm64) rid=osx-arm64 ;;
  *) echo "pack-install: skipped (no tool package for $(uname -s)-$(uname -m); see README Install)"; exit 0 ;;
esac
configuration=${CONFIGURATION:-Debug}
limit=$((250 * 1024 * 1024))

work=$(mktemp -d "${TMPDIR:-/tmp}/munet-pack.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then echo "keeping $work"; else trap 'rm -rf "$work"' EXIT; fi

echo "\$ dotnet pack src/MobileUNet.Cli -c $configuration -p:ToolPackageRuntimeIdentifiers=$rid -o $work/packages"
start=$SECONDS
# PublishDir: a fresh folder, so files left in the tree's publish folder by an earlier pack cannot leak in.
dotnet pack src/MobileUNet.Cli -c "$configuration" --nologo -v quiet \
  -p:ToolPackageRuntimeIdentifiers="$rid" -p:PublishDir="$work/publish/" -o "$work/packages" \
  || fail "dotnet pack"
echo "packed in $((SECONDS - start)) s"
for package in "$work"/packages/*.nupkg; do
  size=$(stat -c %s "$package" 2>/dev/null || stat -f %z "$package")
  printf '%12d bytes (%s MB)  %s\n' "$size" "$(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1048576 }')" "$(basename "$package")"
  [ "$size" -lt "$limit" ] || fail "$(basename "$package") is over NuGet's 250 MB limit"
done
ls "$work/packages/mobileunet.$rid."*.nupkg >/dev/null || fail "no mobileunet.$rid package"

cat > "$work/nuget.config" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$work/packages" />
  </packageSources>
</configuration>
EOF
echo "\$ dotnet tool install --tool-path $work/tools --configfile $work/nuget.config mobileunet"
dotnet tool install --tool-path "$work/tools" --configfile "$work/nuget.config" mobileunet || fail "dotnet tool install"
echo "installed: $(du -sh "$work/tools" | cut -f1) in $work/tools (of which the unpacked tool: $(du -sh "$work"/tools/.store/mobileunet/*/mobileunet."$rid"/*/tools | cut -f1))"

tool="$work/tools/mobileunet"
# From the temporary folder: nothing may depend on the repository being the working directory.
run() { echo "\$ mobileunet $*" >&2; (cd "$work" && "$tool" "$@"); }

run info --alpha 0.25 --size 64 > "$work/info.txt"
tail -n 4 "$work/info.txt"
grep -q '^.*total.*371,639' "$work/info.txt" || fail "info: no total line with 371,639 parameters"

run export --untrained --alpha 0.25 --size 64 -o untrained.onnx
[ -s "$work/untrained.onnx" ] || fail "export wrote no untrained.onnx"

run predict -m untrained.onnx "$repo/data/demo/astronaut.png" -o predict
for png in "$work/predict/astronaut.png.mask.png" "$work/predict/astronaut.png.overlay.png"; do
  [ -s "$png" ] || fail "predict wrote no $(basename "$png")"
  [ "$(head -c 4 "$png" | od -An -tx1 | tr -d ' \n')" = 89504e47 ] || fail "$(basename "$png") is not a PNG"
done

shopt -s nullglob
for weights in models/*.munet; do
  name=$(basename "$weights" .munet)
  installed=("$work"/tools/.store/mobileunet/*/mobileunet."$rid"/*/tools/*/"$rid"/models/"$name".munet)
  [ ${#installed[@]} -eq 1 ] || fail "$name.munet did not travel in the tool package"
  run predict -m "$name" "$repo/data/demo/astronaut.png" -o "predict-$name"
  [ -s "$work/predict-$name/astronaut.png.mask.png" ] || fail "predict -m $name wrote no mask"
done

# The sample (samples/Segment) against the library's package, restored from the temporary folder into a private
# package folder (the shared NuGet cache serves every other package in place and is never written).
for project in src/MobileUNet src/MobileUNet.Training; do
  echo "\$ dotnet pack $project -c $configuration -o $work/library"
  dotnet pack "$project" -c "$configuration" --nologo -v quiet -o "$work/library" || fail "dotnet pack $project"
done
for package in "$work"/library/*.nupkg; do
  size=$(stat -c %s "$package" 2>/dev/null || stat -f %z "$package")
  printf '%12d bytes  %s\n' "$size" "$(basename "$package")"
  [ "$size" -lt "$limit" ] || fail "$(basename "$package") is over NuGet's 250 MB limit"
done
shared_packages=$(dotnet nuget locals global-packages --list | sed -n 's/^global-packages: //p')
echo "\$ dotnet build samples/Segment -o $work/sample (MobileUNet.Core from $work/library)"
dotnet build samples/Segment -c "$configuration" -r "$rid" --no-self-contained --nologo -v quiet -o "$work/sample" \
  -p:MobileUNetPackageSource="$work/library" -p:RestorePackagesPath="$work/nuget" -p:RestoreFallbackFolders="$shared_packages" \
  || fail "dotnet build samples/Segment"
[ -d "$work"/nuget/mobileunet.core ] || fail "the sample did not restore MobileUNet.Core from $work/library"
echo "\$ Segment untrained.onnx chelsea.png sample-out"
(cd "$work" && dotnet sample/Segment.dll untrained.onnx "$repo/data/demo/chelsea.png" sample-out) || fail "the sample"
[ -s "$work/sample-out/chelsea.mask.png" ] && [ -s "$work/sample-out/chelsea.overlay.png" ] || fail "the sample wrote no mask or overlay"
torch_files=$(cd "$work/sample" && find . \( -iname '*torch*' -o -iname 'libc10*' \) | head -3)
[ -z "$torch_files" ] || fail "TorchSharp or libtorch reached an application that references MobileUNet.Core only: $torch_files"
echo "sample output: $(du -sh "$work/sample" | cut -f1), no TorchSharp or libtorch file"
for onnx in models/*.onnx; do
  name=$(basename "$onnx" .onnx)
  [ "${name#*.}" = "$name" ] || continue   # NAME.int8.onnx is a variant, not a name
  echo "\$ Segment $name astronaut.png sample-$name"
  (cd "$work" && dotnet sample/Segment.dll "$name" "$repo/data/demo/astronaut.png" "sample-$name") || fail "the sample with the shipped $name"
  [ -s "$work/sample-$name/astronaut.mask.png" ] || fail "the sample wrote no mask with the shipped $name"
done
if [ -f models/person.munet ]; then
  echo "\$ Segment person.munet chelsea.png sample-munet (weights need MobileUNet.Training: expect a one-line refusal)"
  if (cd "$work" && dotnet sample/Segment.dll "$repo/models/person.munet" "$repo/data/demo/chelsea.png" sample-munet) 2> "$work/munet.err"; then
    fail "the sample ran a .munet without TorchSharp"
  fi
  cat "$work/munet.err"
  grep -q 'MobileUNet.Training' "$work/munet.err" || fail "the .munet refusal does not say what to add"
fi

echo "pack-install: ok"
