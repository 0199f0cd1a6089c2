/*
 * aio_ext.c - swapfs._aio: libswapfs for Python, one Client object per
 * connection.  Buffers are (address, length) pairs; swapfs/aio.py turns
 * numpy arrays, torch tensors and other buffers into them and keeps the
 * objects alive while requests are in flight.  Blocking calls release the
 * GIL; a lock per Client keeps its calls from overlapping.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "fs/client/libswapfs.h"
#include "fs/client/local_io.h"

typedef struct {
	PyObject_HEAD
	struct swapfs_client *c;
	pthread_mutex_t lock;
} Client;

static PyObject *raise_errno(int err, const char *what)
{
	PyObject *args = Py_BuildValue("(is)", -err, what);

	if (args) {
		PyErr_SetObject(PyExc_OSError, args);
		Py_DECREF(args);
	}
	return NULL;
}

/* Run a libswapfs call without the GIL, one at a time per client. */
#define CALL(self, expr) ({						\
	__typeof__(expr) _r;						\
	Py_BEGIN_ALLOW_THREADS						\
	pthread_mutex_lock(&(self)->lock);				\
	_r = (expr);							\
	pthread_mutex_unlock(&(self)->lock);				\
	Py_END_ALLOW_THREADS						\
	_r; })

static int Client_init(Client *self, PyObject *args, PyObject *kw)
{
	static char *names[] = { "path", "timeout_ms", NULL };
	PyObject *path;
	int timeout = 60000, err;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|i", names, PyUnicode_FSConverter,
					 &path, &timeout))
		return -1;
	if (self->c) {
		PyErr_SetString(PyExc_RuntimeError, "Client already connected");
		Py_DECREF(path);
		return -1;
	}
	Py_BEGIN_ALLOW_THREADS
	err = swapfs_client_open(&self->c, PyBytes_AS_STRING(path));
	Py_END_ALLOW_THREADS
	if (err) {
		PyObject *a = Py_BuildValue("(isO)", -err, "swapfs client connect", path);

		if (a) {
			PyErr_SetObject(PyExc_OSError, a);
			Py_DECREF(a);
		}
		Py_DECREF(path);
		return -1;
	}
	Py_DECREF(path);
	swapfs_client_set_timeout(self->c, timeout);
	return 0;
}

static PyObject *Client_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	Client *self = (Client *)type->tp_alloc(type, 0);

	(void)args;
	(void)kw;
	if (self)
		pthread_mutex_init(&self->lock, NULL);
	return (PyObject *)self;
}

static void Client_dealloc(Client *self)
{
	if (self->c) {
		Py_BEGIN_ALLOW_THREADS
		swapfs_client_close(self->c);
		Py_END_ALLOW_THREADS
	}
	pthread_mutex_destroy(&self->lock);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

static bool connected(Client *self)
{
	if (!self->c)
		PyErr_SetString(PyExc_ValueError, "swapfs client is closed");
	return self->c != NULL;
}

static PyObject *Client_close(Client *self, PyObject *unused)
{
	(void)unused;
	if (self->c) {
		struct swapfs_client *c = self->c;

		self->c = NULL;
		CALL(self, (swapfs_client_close(c), 0));
	}
	Py_RETURN_NONE;
}

/* buf_alloc(nbytes) -> writable memoryview of shared, page-aligned memory */
static PyObject *Client_buf_alloc(Client *self, PyObject *args)
{
	Py_ssize_t n;
	void *addr;
	int err;

	if (!PyArg_ParseTuple(args, "n", &n) || !connected(self))
		return NULL;
	if (n <= 0)
		return PyErr_Format(PyExc_ValueError, "buffer size must be positive");
	err = CALL(self, swapfs_buf_alloc(self->c, (size_t)n, &addr));
	if (err)
		return raise_errno(err, "swapfs buffer allocation");
	return PyMemoryView_FromMemory(addr, n, PyBUF_WRITE);
}

static PyObject *Client_buf_free(Client *self, PyObject *args)
{
	unsigned long long addr;
	int err;

	if (!PyArg_ParseTuple(args, "K", &addr) || !connected(self))
		return NULL;
	err = CALL(self, swapfs_buf_free(self->c, (void *)(uintptr_t)addr));
	if (err)
		return raise_errno(err, "swapfs buffer free");
	Py_RETURN_NONE;
}

/*
 * buf_register(address, nbytes): the daemon's shared memory takes the place
 * of the caller's pages there, with their bytes (swapfs_buf_register).
 */
static PyObject *Client_buf_register(Client *self, PyObject *args)
{
	unsigned long long addr, len;
	int err;

	if (!PyArg_ParseTuple(args, "KK", &addr, &len) || !connected(self))
		return NULL;
	err = CALL(self, swapfs_buf_register(self->c, (void *)(uintptr_t)addr, (size_t)len));
	if (err)
		return raise_errno(err, "swapfs buffer register");
	Py_RETURN_NONE;
}

/* register(fd) -> (file, size) */
static PyObject *Client_register(Client *self, PyObject *args)
{
	int fd, file;
	uint64_t size = 0;

	if (!PyArg_ParseTuple(args, "i", &fd) || !connected(self))
		return NULL;
	file = CALL(self, swapfs_file_register(self->c, fd, &size));
	if (file < 0)
		return raise_errno(file, "swapfs file register");
	return Py_BuildValue("(iK)", file, (unsigned long long)size);
}

/* A libswapfs call on one file number: unregister, fsync. */
static PyObject *file_call(Client *self, PyObject *args, int (*fn)(struct swapfs_client *, int),
			   const char *what)
{
	int file, err;

	if (!PyArg_ParseTuple(args, "i", &file) || !connected(self))
		return NULL;
	err = CALL(self, fn(self->c, file));
	if (err)
		return raise_errno(err, what);
	Py_RETURN_NONE;
}

static PyObject *Client_unregister(Client *self, PyObject *args)
{
	return file_call(self, args, swapfs_file_unregister, "swapfs file unregister");
}

static PyObject *Client_fsync(Client *self, PyObject *args)
{
	return file_call(self, args, swapfs_fsync, "swapfs fsync");
}

/* One request tuple of submit(): (op, file or descriptor, address, length, offset, user_data). */
struct request {
	int op, target;
	void *buf;
	size_t len;
	uint64_t off, user_data;
};

/*
 * submit()'s sequence of request tuples as an array of elements of size
 * bytes each, filled by put (PyMem_Free it); NULL with an exception set.
 */
static void *parse_requests(PyObject *list, size_t size,
			    void (*put)(void *io, Py_ssize_t i, const struct request *r),
			    Py_ssize_t *np)
{
	PyObject *seq = PySequence_Fast(list, "submit() takes a sequence of tuples");
	Py_ssize_t n;
	void *io;

	if (!seq)
		return NULL;
	n = PySequence_Fast_GET_SIZE(seq);
	io = PyMem_Calloc(n ? (size_t)n : 1, size);
	if (!io) {
		Py_DECREF(seq);
		PyErr_NoMemory();
		return NULL;
	}
	for (Py_ssize_t i = 0; i < n; i++) {
		unsigned long long addr, len, off, ud;
		int op, target;

		if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "iiKKKK", &op, &target,
				      &addr, &len, &off, &ud)) {
			PyMem_Free(io);
			Py_DECREF(seq);
			return NULL;
		}
		put(io, i, &(struct request){ op, target, (void *)(uintptr_t)addr, (size_t)len,
					      off, ud });
	}
	Py_DECREF(seq);
	*np = n;
	return io;
}

/* submit()'s answer: the number queued; -EAGAIN (in-flight limit) is 0. */
static PyObject *submitted(int r, const char *what)
{
	if (r < 0 && r != -EAGAIN)
		return raise_errno(r, what);
	return PyLong_FromLong(r < 0 ? 0 : r);
}

/* wait()'s completion array for max entries (PyMem_Free it); NULL with an exception set. */
static struct swapfs_cqe *cqe_alloc(unsigned max)
{
	struct swapfs_cqe *cqe;

	if (!max || max > 65536) {
		PyErr_Format(PyExc_ValueError, "max must be 1..65536");
		return NULL;
	}
	cqe = PyMem_Calloc(max, sizeof(*cqe));
	if (!cqe)
		PyErr_NoMemory();
	return cqe;
}

/* wait()'s answer from n (or -errno) completions: [(user_data, result), ...]; frees cqe. */
static PyObject *cqe_list(struct swapfs_cqe *cqe, int n, const char *what)
{
	PyObject *out;

	if (n < 0) {
		PyMem_Free(cqe);
		return raise_errno(n, what);
	}
	out = PyList_New(n);
	for (int i = 0; out && i < n; i++) {
		PyObject *t = Py_BuildValue("(KL)", (unsigned long long)cqe[i].user_data,
					    (long long)cqe[i].result);

		if (!t) {
			Py_CLEAR(out);
			break;
		}
		PyList_SET_ITEM(out, i, t);
	}
	PyMem_Free(cqe);
	return out;
}

static void put_client_io(void *io, Py_ssize_t i, const struct request *r)
{
	((struct swapfs_io *)io)[i] = (struct swapfs_io){ r->op, r->target, r->buf, r->len,
							  r->off, r->user_data };
}

/*
 * submit([(op, file, address, length, offset, user_data), ...]) -> count
 * queued (the in-flight limit may stop it short).
 */
static PyObject *Client_submit(Client *self, PyObject *args)
{
	PyObject *list;
	struct swapfs_io *io;
	Py_ssize_t n;
	int r;

	if (!PyArg_ParseTuple(args, "O", &list) || !connected(self))
		return NULL;
	io = parse_requests(list, sizeof(*io), put_client_io, &n);
	if (!io)
		return NULL;
	r = n ? CALL(self, swapfs_submit(self->c, io, (unsigned)n)) : 0;
	PyMem_Free(io);
	return submitted(r, "swapfs submit");
}

/* wait(min, max, timeout_ms) -> [(user_data, result), ...] */
static PyObject *Client_wait(Client *self, PyObject *args)
{
	unsigned min, max;
	int timeout, n;
	struct swapfs_cqe *cqe;

	if (!PyArg_ParseTuple(args, "IIi", &min, &max, &timeout) || !connected(self))
		return NULL;
	cqe = cqe_alloc(max);
	if (!cqe)
		return NULL;
	n = CALL(self, swapfs_wait(self->c, cqe, min, max, timeout));
	return cqe_list(cqe, n, "swapfs wait");
}

static PyObject *Client_inflight(Client *self, PyObject *unused)
{
	(void)unused;
	if (!connected(self))
		return NULL;
	return PyLong_FromUnsignedLong(swapfs_inflight(self->c));
}

static PyMethodDef Client_methods[] = {
	{ "close", (PyCFunction)Client_close, METH_NOARGS, "Disconnect (waits for requests)." },
	{ "buf_alloc", (PyCFunction)Client_buf_alloc, METH_VARARGS,
	  "buf_alloc(nbytes) -> memoryview of memory shared with the daemon (zero-copy I/O)." },
	{ "buf_free", (PyCFunction)Client_buf_free, METH_VARARGS,
	  "buf_free(address) frees a buffer from buf_alloc." },
	{ "buf_register", (PyCFunction)Client_buf_register, METH_VARARGS,
	  "buf_register(address, nbytes): adopt the caller's pages into memory shared with the daemon." },
	{ "register", (PyCFunction)Client_register, METH_VARARGS,
	  "register(fd) -> (file, size) for a descriptor opened on the mount." },
	{ "unregister", (PyCFunction)Client_unregister, METH_VARARGS,
	  "unregister(file): wait for its requests; close() semantics." },
	{ "fsync", (PyCFunction)Client_fsync, METH_VARARGS, "fsync(file): data and metadata durable." },
	{ "submit", (PyCFunction)Client_submit, METH_VARARGS,
	  "submit([(op, file, address, length, offset, user_data)]) -> number queued." },
	{ "wait", (PyCFunction)Client_wait, METH_VARARGS,
	  "wait(min, max, timeout_ms) -> [(user_data, result)]; OSError(ETIMEDOUT) on timeout." },
	{ "inflight", (PyCFunction)Client_inflight, METH_NOARGS, "Requests not yet collected." },
	{ NULL, NULL, 0, NULL }
};

static PyTypeObject ClientType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "swapfs._aio.Client",
	.tp_doc = "Client(path, timeout_ms=60000): a libswapfs connection to the mount holding path.",
	.tp_basicsize = sizeof(Client),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_new = Client_new,
	.tp_init = (initproc)Client_init,
	.tp_dealloc = (destructor)Client_dealloc,
	.tp_methods = Client_methods,
};

/*
 * Local(depth): io_uring I/O on files outside a swapfs mount, with the
 * Client's submit/wait shape (requests name descriptors instead of file
 * numbers).  Only used under swapfs.aio's own lock (one thread at a time).
 */
typedef struct {
	PyObject_HEAD
	struct swapfs_local *l;
} Local;

static int Local_init(Local *self, PyObject *args, PyObject *kw)
{
	static char *names[] = { "depth", NULL };
	unsigned depth;
	int err;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "I", names, &depth))
		return -1;
	if (self->l) {
		PyErr_SetString(PyExc_RuntimeError, "Local already open");
		return -1;
	}
	err = swapfs_local_open(&self->l, depth);
	if (err) {
		raise_errno(err, "io_uring setup");
		return -1;
	}
	return 0;
}

static void Local_dealloc(Local *self)
{
	if (self->l) {
		Py_BEGIN_ALLOW_THREADS
		swapfs_local_close(self->l);
		Py_END_ALLOW_THREADS
	}
	Py_TYPE(self)->tp_free((PyObject *)self);
}

static bool local_open(Local *self)
{
	if (!self->l)
		PyErr_SetString(PyExc_ValueError, "local I/O is closed");
	return self->l != NULL;
}

static PyObject *Local_close(Local *self, PyObject *unused)
{
	(void)unused;
	if (self->l) {
		struct swapfs_local *l = self->l;

		self->l = NULL;
		Py_BEGIN_ALLOW_THREADS
		swapfs_local_close(l);
		Py_END_ALLOW_THREADS
	}
	Py_RETURN_NONE;
}

static void put_local_io(void *io, Py_ssize_t i, const struct request *r)
{
	((struct swapfs_local_io *)io)[i] = (struct swapfs_local_io){ r->op, r->target, r->buf,
								      r->len, r->off,
								      r->user_data };
}

/* submit([(op, fd, address, length, offset, user_data), ...]) -> count queued */
static PyObject *Local_submit(Local *self, PyObject *args)
{
	PyObject *list;
	struct swapfs_local_io *io;
	Py_ssize_t n;
	int r;

	if (!PyArg_ParseTuple(args, "O", &list) || !local_open(self))
		return NULL;
	io = parse_requests(list, sizeof(*io), put_local_io, &n);
	if (!io)
		return NULL;
	r = 0;
	if (n) {
		Py_BEGIN_ALLOW_THREADS
		r = swapfs_local_submit(self->l, io, (unsigned)n);
		Py_END_ALLOW_THREADS
	}
	PyMem_Free(io);
	return submitted(r, "io_uring submit");
}

/* wait(min, max, timeout_ms) -> [(user_data, result), ...] */
static PyObject *Local_wait(Local *self, PyObject *args)
{
	unsigned min, max;
	int timeout, n;
	struct swapfs_cqe *cqe;

	if (!PyArg_ParseTuple(args, "IIi", &min, &max, &timeout) || !local_open(self))
		return NULL;
	cqe = cqe_alloc(max);
	if (!cqe)
		return NULL;
	Py_BEGIN_ALLOW_THREADS
	n = swapfs_local_wait(self->l, cqe, min, max, timeout);
	Py_END_ALLOW_THREADS
	return cqe_list(cqe, n, "io_uring wait");
}

static PyMethodDef Local_methods[] = {
	{ "close", (PyCFunction)Local_close, METH_NOARGS, "Wait for requests, free the ring." },
	{ "submit", (PyCFunction)Local_submit, METH_VARARGS,
	  "submit([(op, fd, address, length, offset, user_data)]) -> number queued." },
	{ "wait", (PyCFunction)Local_wait, METH_VARARGS,
	  "wait(min, max, timeout_ms) -> [(user_data, result)]; OSError(ETIMEDOUT) on timeout." },
	{ NULL, NULL, 0, NULL }
};

static PyTypeObject LocalType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "swapfs._aio.Local",
	.tp_doc = "Local(depth): io_uring I/O on descriptors of other filesystems.",
	.tp_basicsize = sizeof(Local),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_new = PyType_GenericNew,
	.tp_init = (initproc)Local_init,
	.tp_dealloc = (destructor)Local_dealloc,
	.tp_methods = Local_methods,
};

/* notify_modify(fd, offset): IN_MODIFY for a client-path write (local_io.h) */
static PyObject *mod_notify_modify(PyObject *m, PyObject *args)
{
	unsigned long long off;
	int fd, err;

	(void)m;
	if (!PyArg_ParseTuple(args, "iK", &fd, &off))
		return NULL;
	Py_BEGIN_ALLOW_THREADS
	err = swapfs_notify_modify(fd, off);
	Py_END_ALLOW_THREADS
	if (err)
		return raise_errno(err, "fallocate (modify notification)");
	Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
	{ "notify_modify", mod_notify_modify, METH_VARARGS,
	  "notify_modify(fd, offset): raise IN_MODIFY for a write made through the client path." },
	{ NULL, NULL, 0, NULL }
};

static struct PyModuleDef module = {
	PyModuleDef_HEAD_INIT, "swapfs._aio", "libswapfs bindings (see swapfs.aio).", -1,
	module_methods, NULL, NULL, NULL, NULL
};

PyMODINIT_FUNC PyInit__aio(void)
{
	PyObject *m;

	if (PyType_Ready(&ClientType) < 0 || PyType_Ready(&LocalType) < 0)
		return NULL;
	m = PyModule_Create(&module);
	if (!m)
		return NULL;
	Py_INCREF(&ClientType);
	Py_INCREF(&LocalType);
	if (PyModule_AddObject(m, "Local", (PyObject *)&LocalType)) {
		Py_DECREF(&LocalType);
		Py_DECREF(&ClientType);
		Py_DECREF(m);
		return NULL;
	}
	if (PyModule_AddObject(m, "Client", (PyObject *)&ClientType) ||
	    PyModule_AddIntConstant(m, "READ", SWAPFS_READ) ||
	    PyModule_AddIntConstant(m, "WRITE", SWAPFS_WRITE)) {
		Py_DECREF(&ClientType);
		Py_DECREF(m);
		return NULL;
	}
	return m;
}
