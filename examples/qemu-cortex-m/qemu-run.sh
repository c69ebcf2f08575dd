#!/bin/sh
# cargo's runner for this crate (see .cargo/config.toml): boots the bootloader at address 0
# with the image cargo built programmed into slot A, as the factory programs a part.
#
# UART0 goes to a DM bridge on 127.0.0.1:$IOTADM_QEMU_PORT (default 7878), which must be
# listening first; the firmware's log (semihosting) goes to standard output. Extra QEMU
# arguments may be given in $IOTADM_QEMU_ARGS. Needs arm-none-eabi-objcopy and -nm
# (Debian: binutils-arm-none-eabi).
set -eu
image="$1"
shift
dir=$(dirname "$image")
profile=$(basename "$dir")
here=$(dirname "$0")
case "$profile" in
    release) flag=--release ;;
    *) flag= ;;
esac
# The bootloader comes from the same profile as the image.
cargo build --quiet $flag --manifest-path "$here/Cargo.toml" --bin boot
# The image goes in as flash holds it, at its vector table: loaded as an ELF, its
# zero-filled RAM segment would overlap the bootloader's.
flat="$image.bin"
arm-none-eabi-objcopy -O binary "$image" "$flat"
base=$(arm-none-eabi-nm "$image" | awk '$3 == "__vector_table" { print $1 }')
exec qemu-system-arm -machine mps2-an386 -display none -monitor none \
    -semihosting-config enable=on,target=native \
    -serial "tcp:127.0.0.1:${IOTADM_QEMU_PORT:-7878}" \
    -kernel "$dir/boot" -device "loader,file=$flat,addr=0x$base,force-raw=on" \
    ${IOTADM_QEMU_ARGS:-} "$@"
