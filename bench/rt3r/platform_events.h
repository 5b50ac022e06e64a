/*
 * platform_events.h: what the platform did to the measuring thread, and when,
 * for bench/micro/latency's classification of slow samples (bench/rt3r).
 *
 * The thread's interrupts, IPIs, softirqs, NMIs, page faults and context
 * switches are recorded by the kernel itself: one perf event per kind
 * (tracepoints irq_vectors:*_entry, irq:irq_handler_entry, irq:softirq_entry,
 * nmi:nmi_handler, raw_syscalls:sys_enter; software events page-faults and
 * context-switches), each
 * with sample_period 1 and a CLOCK_MONOTONIC time stamp, all written into one
 * ring buffer mapped into this process. The timed loop makes no system call
 * for this: the kernel writes a record when the event happens, and the
 * records are copied out of the ring (plain memory reads) only outside the
 * timed regions. A slow sample is then explained exactly when a record's time
 * falls inside its window, instead of when a counter read before and after a
 * long interval moved (the timer alone moves /proc/interrupts every 4 ms).
 *
 * What it cannot see: time the hypervisor takes the virtual CPU away (host
 * preemption, steal, SMIs) leaves no event in the guest. For that the caller
 * compares the thread's CPU time with the wall clock (platform_lost_ns): with
 * paravirtual steal accounting the scheduler does not charge stolen time to
 * the running task.
 *
 * Needs CAP_PERFMON (root) or perf_event_paranoid <= -1 for the tracepoints;
 * platform_events_open says why it could not, and the caller then reports
 * that nothing was classified. Invariant: events[] is sorted by time (the
 * ring of one thread's events is written in time order).
 */
#ifndef RT3R_PLATFORM_EVENTS_H
#define RT3R_PLATFORM_EVENTS_H

#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum platform_cause {
    CAUSE_SWITCH,  /* context switch: preempted */
    CAUSE_TIMER,   /* local timer interrupt */
    CAUSE_IPI,     /* reschedule, function call, irq work, platform IPI */
    CAUSE_DEVICE,  /* a device interrupt */
    CAUSE_SOFTIRQ, /* softirq work run on the way out of an interrupt */
    CAUSE_NMI,
    CAUSE_STOLEN,  /* the hypervisor took the CPU: set by the caller, never recorded */
    CAUSE_FAULT,   /* page fault: the allocator's own (first touch of fresh memory) */
    CAUSE_SYSCALL, /* a system call: the allocator's own (mmap, munmap, madvise, ...) */
    CAUSES
};
static const char *const cause_names[CAUSES] = { "switch",  "timer", "ipi",   "irq",    "softirq",
                                                 "nmi",     "stolen", "fault", "syscall" };
/* the causes that are the platform's, not the code timed: a sample with one is an identified outlier */
#define PLATFORM_CAUSES ((1u << CAUSE_FAULT) - 1)

struct platform_event {
    uint64_t ns; /* CLOCK_MONOTONIC */
    int cause;
};

#define PLATFORM_MAX_KINDS 12
#define PLATFORM_RING_PAGES 4096 /* 16 MiB: about 700000 records */

static struct {
    int fds[PLATFORM_MAX_KINDS], kinds;
    uint64_t ids[PLATFORM_MAX_KINDS];
    int causes[PLATFORM_MAX_KINDS];
    struct perf_event_mmap_page *ring;
    size_t ring_bytes;
    struct platform_event *events;
    long nevents, capacity, lost;
} platform;

static inline uint64_t mono_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The id of tracepoint GROUP:NAME, or -1. */
static long tracepoint_id(const char *group, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "/sys/kernel/tracing/events/%s/%s/id", group, name);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(path, sizeof path, "/sys/kernel/debug/tracing/events/%s/%s/id", group, name);
        f = fopen(path, "r");
    }
    long id = -1;
    if (f != NULL) {
        if (fscanf(f, "%ld", &id) != 1)
            id = -1;
        fclose(f);
    }
    return id;
}

/* Opens one event of this thread, disabled, its records going to the first event's ring. */
static int platform_add(uint32_t type, uint64_t config, int cause)
{
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = type;
    attr.config = config;
    attr.sample_period = 1;
    attr.sample_type = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_TIME;
    attr.disabled = 1;
    attr.use_clockid = 1;
    attr.clockid = CLOCK_MONOTONIC;
    int fd = (int)syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd < 0)
        return -1;
    if (platform.kinds > 0 && ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, platform.fds[0]) != 0) {
        close(fd);
        return -1;
    }
    if (ioctl(fd, PERF_EVENT_IOC_ID, &platform.ids[platform.kinds]) != 0) {
        close(fd);
        return -1;
    }
    platform.fds[platform.kinds] = fd;
    platform.causes[platform.kinds++] = cause;
    return 0;
}

/*
 * Opens the events (disabled) and maps their ring; events[] holds up to
 * capacity records. Returns NULL, or why it could not.
 */
static const char *platform_events_open(long capacity)
{
    static const struct { const char *group, *name; int cause; } tracepoints[] = {
        { "irq_vectors", "local_timer_entry", CAUSE_TIMER },
        { "irq_vectors", "reschedule_entry", CAUSE_IPI },
        { "irq_vectors", "call_function_entry", CAUSE_IPI },
        { "irq_vectors", "call_function_single_entry", CAUSE_IPI },
        { "irq_vectors", "irq_work_entry", CAUSE_IPI },
        { "irq_vectors", "x86_platform_ipi_entry", CAUSE_IPI },
        { "irq", "irq_handler_entry", CAUSE_DEVICE },
        { "irq", "softirq_entry", CAUSE_SOFTIRQ },
        { "nmi", "nmi_handler", CAUSE_NMI },
        { "raw_syscalls", "sys_enter", CAUSE_SYSCALL },
    };
    if (platform_add(PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES, CAUSE_SWITCH) != 0)
        return "perf_event_open refused (perf_event_paranoid, or not root)";
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    platform.ring_bytes = PLATFORM_RING_PAGES * page;
    void *ring = mmap(NULL, page + platform.ring_bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
                      platform.fds[0], 0);
    if (ring == MAP_FAILED)
        return "the perf ring buffer could not be mapped";
    platform.ring = ring;
    if (platform_add(PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS, CAUSE_FAULT) != 0)
        return "the page-fault event could not be opened";
    for (size_t i = 0; i < COUNTOF(tracepoints); i++) {
        long id = tracepoint_id(tracepoints[i].group, tracepoints[i].name);
        if (id >= 0 && platform_add(PERF_TYPE_TRACEPOINT, (uint64_t)id, tracepoints[i].cause) != 0)
            return "a tracepoint could not be opened (needs root or CAP_PERFMON)";
    }
    if (platform.kinds < 4)
        return "the interrupt tracepoints are missing (no tracefs)";
    platform.events = mmap(NULL, (size_t)capacity * sizeof *platform.events, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (platform.events == MAP_FAILED)
        return "no memory for the event log";
    platform.capacity = capacity;
    return NULL;
}

static void platform_events_enable(int on)
{
    for (int k = 0; k < platform.kinds; k++)
        ioctl(platform.fds[k], on ? PERF_EVENT_IOC_ENABLE : PERF_EVENT_IOC_DISABLE, 0);
}

/* Copies the ring's new records into events[]; cheap when there are none. */
static void platform_events_drain(void)
{
    if (platform.ring == NULL)
        return;
    struct perf_event_mmap_page *meta = platform.ring;
    const unsigned char *data = (const unsigned char *)meta + meta->data_offset;
    uint64_t size = meta->data_size ? meta->data_size : platform.ring_bytes;
    uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE); /* pairs with the kernel's write */
    uint64_t tail = meta->data_tail;
    while (tail < head) {
        struct perf_event_header h;
        unsigned char rec[64];
        for (size_t i = 0; i < sizeof h; i++)
            ((unsigned char *)&h)[i] = data[(tail + i) % size];
        for (size_t i = 0; i < h.size && i < sizeof rec; i++)
            rec[i] = data[(tail + i) % size];
        if (h.type == PERF_RECORD_SAMPLE && h.size >= sizeof h + 16) {
            uint64_t id, ns;
            memcpy(&id, rec + sizeof h, 8);
            memcpy(&ns, rec + sizeof h + 8, 8);
            int cause = -1;
            for (int k = 0; k < platform.kinds; k++)
                if (platform.ids[k] == id)
                    cause = platform.causes[k];
            if (cause >= 0 && platform.nevents < platform.capacity)
                platform.events[platform.nevents++] = (struct platform_event){ ns, cause };
            else if (cause >= 0)
                platform.lost++;
        } else if (h.type == PERF_RECORD_LOST && h.size >= sizeof h + 16) {
            uint64_t n;
            memcpy(&n, rec + sizeof h + 8, 8);
            platform.lost += (long)n;
        }
        if (h.size == 0)
            break;
        tail += h.size;
    }
    __atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE); /* the kernel may reuse the space */
}

/* Whether the ring is more than half full: drain it soon. */
static int platform_events_pending(void)
{
    if (platform.ring == NULL)
        return 0;
    uint64_t head = __atomic_load_n(&platform.ring->data_head, __ATOMIC_RELAXED);
    return head - platform.ring->data_tail > platform.ring_bytes / 2;
}

/* The causes (bit 1 << CAUSE_x) of the events with time in [lo, hi] ns. */
static unsigned platform_causes_between(uint64_t lo, uint64_t hi)
{
    long a = 0, b = platform.nevents;
    while (a < b) { /* first event at or after lo */
        long m = a + (b - a) / 2;
        if (platform.events[m].ns < lo)
            a = m + 1;
        else
            b = m;
    }
    unsigned causes = 0;
    for (long i = a; i < platform.nevents && platform.events[i].ns <= hi; i++)
        causes |= 1u << platform.events[i].cause;
    return causes;
}

/* This CPU's column of /proc/interrupts, summed over the rows named in the list (NULL: all). */
static long proc_interrupts(int cpu, const char *const *rows)
{
    FILE *f = fopen("/proc/interrupts", "r");
    if (f == NULL)
        return -1;
    char line[4096];
    long total = 0;
    if (fgets(line, sizeof line, f) == NULL) { /* the CPU header */
        fclose(f);
        return -1;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        char *p = line, *end;
        while (*p == ' ')
            p++;
        char *colon = strchr(p, ':');
        if (colon == NULL)
            continue;
        *colon = '\0';
        int wanted = rows == NULL;
        for (int r = 0; rows != NULL && rows[r] != NULL; r++)
            wanted |= strcmp(p, rows[r]) == 0;
        p = colon + 1;
        for (int c = 0;; c++) {
            long v = strtol(p, &end, 10);
            if (end == p)
                break;
            if (c == cpu && wanted)
                total += v;
            p = end;
        }
    }
    fclose(f);
    return total;
}

/* The steal time of this CPU from /proc/stat, in ms (the file counts 10 ms ticks). */
static long proc_steal_ms(int cpu)
{
    FILE *f = fopen("/proc/stat", "r");
    if (f == NULL)
        return -1;
    char line[512], want[16];
    snprintf(want, sizeof want, "cpu%d ", cpu);
    long steal = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned long long v[8];
        if (strncmp(line, want, strlen(want)) == 0 &&
            sscanf(line + strlen(want), "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
                   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8)
            steal = (long)v[7] * (1000 / sysconf(_SC_CLK_TCK));
    }
    fclose(f);
    return steal;
}

#endif
