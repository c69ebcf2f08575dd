/*
 * Start-up of the C DM client: the vector table the bootloader jumps through, the reset
 * handler (VTOR, the FPU, .data and .bss, the stack paint) and the fault handlers, which
 * stop QEMU with a failure status over semihosting.
 */
#include <stdint.h>

#include "board.h"

extern uint32_t __data_start, __data_end, __data_load, __bss_start, __bss_end;
extern uint32_t __stack_limit, __stack_top;

int main(void);
void reset_handler(void);

#define SCB_VTOR (*(volatile uint32_t *)0xE000ED08u)
#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)
/* What the stack is filled with at reset; board.c measures how much lost it. */
#define STACK_PAINT 0xCCCCCCCCu
/* Stack the reset handler keeps for itself while painting. */
#define PAINT_MARGIN 64u

static void fault(const char *what)
{
    log_begin();
    log_str(what);
    log_end();
    board_exit(false);
}

static void hard_fault(void)
{
    fault("hard fault");
}

static void other_fault(void)
{
    fault("unexpected exception");
}

/* 16 system exceptions and the AN386's 32 interrupts: 192 bytes, within the 512-byte
 * alignment of an image in its slot. */
#define VECTORS (16 + 32)

__attribute__((section(".vector_table"), used)) static const uintptr_t vector_table[VECTORS] = {
    [0] = (uintptr_t)&__stack_top,
    [1] = (uintptr_t)reset_handler,
    [2] = (uintptr_t)other_fault,  /* NMI */
    [3] = (uintptr_t)hard_fault,
    [4] = (uintptr_t)hard_fault,   /* MemManage */
    [5] = (uintptr_t)hard_fault,   /* BusFault */
    [6] = (uintptr_t)hard_fault,   /* UsageFault */
    [11] = (uintptr_t)other_fault, /* SVCall */
    [12] = (uintptr_t)other_fault, /* DebugMonitor */
    [14] = (uintptr_t)other_fault, /* PendSV */
    [15] = (uintptr_t)other_fault, /* SysTick: counted, never enabled as an interrupt */
};

void reset_handler(void)
{
    uint32_t *p;
    const uint32_t *src;
    uintptr_t sp;

    /* The bootloader left its own table in VTOR. */
    SCB_VTOR = (uint32_t)(uintptr_t)vector_table;
    /* Full access to CP10 and CP11: the code is built for the FPU. */
    SCB_CPACR |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");

    for (p = &__data_start, src = &__data_load; p < &__data_end;) {
        *p++ = *src++;
    }
    for (p = &__bss_start; p < &__bss_end;) {
        *p++ = 0;
    }
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (p = &__stack_limit; (uintptr_t)p < sp - PAINT_MARGIN;) {
        *(volatile uint32_t *)p++ = STACK_PAINT;
    }
    main();
    board_exit(false);
}
