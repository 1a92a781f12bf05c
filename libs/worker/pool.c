/*  pool.c - handler threads, a work queue, and events back through an eventfd. */
#include "pool.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

typedef struct _s_work_t s_work_t;

//  A task waiting for a thread, or an event waiting for the socket thread.
struct _s_work_t {
    zf_task_t *task;   //  the task
    zf_handler_fn *fn; //  its handler
    void *arg;         //  for the handler
    int event;         //  zf_pool_event_t, for events
    int rc;            //  the handler's return, for DONE
    s_work_t *next;    //  in its queue
};

struct _zf_pool_t {
    pthread_mutex_t lock; //  guards everything below but threads
    pthread_cond_t wake;  //  work arrived, or the pool stops
    s_work_t *work_head;  //  tasks waiting for a thread
    s_work_t *work_tail;
    s_work_t *event_head; //  events waiting for the socket thread
    s_work_t *event_tail;
    zf_task_t **running; //  tasks a thread runs now, one entry per thread
    bool stopping;       //  threads must end
    int event_fd;        //  readable while events wait
    pthread_t *threads;  //  the threads
    size_t thread_count; //  threads started
};

//  Appends an event and wakes the socket thread; lock held.
static void
s_post (zf_pool_t *self, s_work_t *work, int event, int rc)
{
    work->event = event;
    work->rc = rc;
    work->next = NULL;
    if (self->event_tail)
        self->event_tail->next = work;
    else
        self->event_head = work;
    self->event_tail = work;
    uint64_t one = 1;
    ssize_t written = write (self->event_fd, &one, sizeof one);
    (void)written;
}

//  Arguments of one thread.
typedef struct {
    zf_pool_t *pool; //  its pool
    size_t index;    //  its entry in running
} s_thread_arg_t;

static void *
s_thread (void *arg_p)
{
    s_thread_arg_t *arg = arg_p;
    zf_pool_t *self = arg->pool;
    size_t index = arg->index;
    free (arg);
    pthread_mutex_lock (&self->lock);
    while (true) {
        while (!self->work_head && !self->stopping)
            pthread_cond_wait (&self->wake, &self->lock);
        if (self->stopping) break;
        s_work_t *work = self->work_head;
        self->work_head = work->next;
        if (!self->work_head) self->work_tail = NULL;
        self->running[index] = work->task;
        //  The STARTED event needs its own record: the work item carries
        //  DONE later.
        s_work_t *started = calloc (1, sizeof (s_work_t));
        if (started) {
            started->task = work->task;
            s_post (self, started, ZF_POOL_STARTED, 0);
        }
        pthread_mutex_unlock (&self->lock);
        int rc = work->fn (work->task, work->arg);
        pthread_mutex_lock (&self->lock);
        self->running[index] = NULL;
        s_post (self, work, ZF_POOL_DONE, rc);
    }
    pthread_mutex_unlock (&self->lock);
    return NULL;
}

zf_pool_t *
zf_pool_new (size_t threads)
{
    if (threads == 0) threads = 1;
    zf_pool_t *self = calloc (1, sizeof (zf_pool_t));
    if (!self) return NULL;
    pthread_mutex_init (&self->lock, NULL);
    pthread_cond_init (&self->wake, NULL);
    self->event_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
    self->threads = calloc (threads, sizeof (pthread_t));
    self->running = calloc (threads, sizeof (zf_task_t *));
    if (self->event_fd < 0 || !self->threads || !self->running) {
        zf_pool_destroy (&self);
        return NULL;
    }
    for (size_t i = 0; i < threads; i++) {
        s_thread_arg_t *arg = malloc (sizeof (s_thread_arg_t));
        if (!arg) break;
        arg->pool = self;
        arg->index = i;
        if (pthread_create (&self->threads[i], NULL, s_thread, arg) != 0) {
            free (arg);
            break;
        }
        self->thread_count++;
    }
    if (self->thread_count == 0) {
        zf_pool_destroy (&self);
        return NULL;
    }
    return self;
}

//  Frees a chain of work items.
static void
s_free_chain (s_work_t *work)
{
    while (work) {
        s_work_t *next = work->next;
        free (work);
        work = next;
    }
}

void
zf_pool_destroy (zf_pool_t **self_p)
{
    assert (self_p);
    zf_pool_t *self = *self_p;
    if (!self) return;
    pthread_mutex_lock (&self->lock);
    self->stopping = true;
    for (size_t i = 0; i < self->thread_count; i++)
        if (self->running[i]) zf_task_cancel (self->running[i]);
    pthread_cond_broadcast (&self->wake);
    pthread_mutex_unlock (&self->lock);
    for (size_t i = 0; i < self->thread_count; i++)
        pthread_join (self->threads[i], NULL);
    s_free_chain (self->work_head);
    s_free_chain (self->event_head);
    if (self->event_fd >= 0) close (self->event_fd);
    pthread_cond_destroy (&self->wake);
    pthread_mutex_destroy (&self->lock);
    free (self->threads);
    free (self->running);
    free (self);
    *self_p = NULL;
}

int
zf_pool_fd (zf_pool_t *self)
{
    assert (self);
    return self->event_fd;
}

int
zf_pool_submit (zf_pool_t *self, zf_task_t *task, zf_handler_fn *fn, void *arg)
{
    assert (self && task && fn);
    s_work_t *work = calloc (1, sizeof (s_work_t));
    if (!work) return -1;
    work->task = task;
    work->fn = fn;
    work->arg = arg;
    pthread_mutex_lock (&self->lock);
    if (self->work_tail)
        self->work_tail->next = work;
    else
        self->work_head = work;
    self->work_tail = work;
    pthread_cond_signal (&self->wake);
    pthread_mutex_unlock (&self->lock);
    return 0;
}

bool
zf_pool_withdraw (zf_pool_t *self, zf_task_t *task)
{
    assert (self && task);
    bool found = false;
    pthread_mutex_lock (&self->lock);
    s_work_t *prev = NULL;
    for (s_work_t *work = self->work_head; work; prev = work, work = work->next)
        if (work->task == task) {
            if (prev)
                prev->next = work->next;
            else
                self->work_head = work->next;
            if (self->work_tail == work) self->work_tail = prev;
            free (work);
            found = true;
            break;
        }
    pthread_mutex_unlock (&self->lock);
    return found;
}

bool
zf_pool_next (zf_pool_t *self, zf_task_t **task, int *event, int *rc)
{
    assert (self && task && event && rc);
    pthread_mutex_lock (&self->lock);
    s_work_t *work = self->event_head;
    if (work) {
        self->event_head = work->next;
        if (!self->event_head) self->event_tail = NULL;
    } else {
        //  Nothing waits: empty the eventfd so the loop sleeps again. Any
        //  event posted after this writes to it anew.
        uint64_t count;
        ssize_t got = read (self->event_fd, &count, sizeof count);
        (void)got;
    }
    pthread_mutex_unlock (&self->lock);
    if (!work) return false;
    *task = work->task;
    *event = work->event;
    *rc = work->rc;
    free (work);
    return true;
}
