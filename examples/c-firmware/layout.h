/*
 * The memory map of the MPS2 AN386 board, as examples/qemu-cortex-m/src/layout.rs gives
 * it: the Rust image's bootloader, the emulated NOR regions and the two firmware slots.
 * The C firmware runs under that same bootloader, so every address here must equal the
 * Rust one (tests/qemu_c.rs runs both against each other).
 */
#ifndef LAYOUT_H
#define LAYOUT_H

/* Erase sector and program word of the emulated NOR part. */
#define NOR_SECTOR 4096u
#define NOR_WORD 4u

/* Where a slot's image starts: after the update package header. */
#define IMAGE_OFFSET 512u

#define STATE_BASE 0x00010000u /* the installer's boot state log */
#define STATE_LEN (2u * NOR_SECTOR)
#define FUMO_BASE 0x00012000u /* the FUMO record log */
#define FUMO_LEN (2u * NOR_SECTOR)
#define TREE_BASE 0x00014000u /* the management tree's store */
#define TREE_LEN (4u * NOR_SECTOR)
#define SLOT_A_BASE 0x00020000u /* firmware slot A: the factory image */
#define SLOT_B_BASE 0x00080000u /* firmware slot B */
#define SLOT_LEN 0x00060000u

#endif
