package dev.appshare.wire.net;

import io.netty.channel.IoHandle;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerContext;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.IoOps;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.util.concurrent.ThreadAwareExecutor;

/**
 * netty's epoll I/O handler with one bug worked around: a registration never asks epoll for "no
 * events".
 *
 * <p>The bug (netty 4.2.18, {@code EpollIoHandler.DefaultEpollIoRegistration.submit}): when a
 * channel's interest set becomes empty, netty removes the descriptor from the epoll set ({@code
 * EPOLL_CTL_DEL}) but keeps it marked as added, so the next non-empty interest is an {@code
 * EPOLL_CTL_MOD} that fails with {@code ENOENT}. A TCP channel gets there after {@code
 * shutdownInput} (EPOLLIN and EPOLLRDHUP cleared) with no write pending; the next write that fills
 * the socket buffer wants EPOLLOUT and fails, ending a half-closed connection early: exactly the
 * splice of a tunnelled stream whose client has finished sending and is still receiving.
 *
 * <p>The workaround: an empty interest set is submitted as {@code EPOLLET} alone. The descriptor
 * stays in the epoll set asking for nothing; the kernel still reports EPOLLERR and EPOLLHUP (it
 * always does), but edge-triggered, so once per change and never as a busy loop. netty handles an
 * EPOLLERR as it always does (a read or flush that surfaces the error); a bare EPOLLHUP it ignores.
 * Everything else is passed to netty unchanged.
 */
final class EpollKeepRegistered implements IoHandlerFactory {
    private final IoHandlerFactory epoll;

    EpollKeepRegistered(IoHandlerFactory epoll) {
        this.epoll = epoll;
    }

    @Override
    public IoHandler newHandler(ThreadAwareExecutor executor) {
        return new Handler(epoll.newHandler(executor));
    }

    @Override
    public boolean isChangingThreadSupported() {
        return epoll.isChangingThreadSupported();
    }

    /** The interest set submitted instead of an empty one. */
    static IoOps neverEmpty(IoOps ops) {
        if (ops instanceof EpollIoOps epollOps && epollOps.value() == EpollIoOps.NONE.value()) {
            return EpollIoOps.EPOLLET;
        }
        return ops;
    }

    private record Handler(IoHandler epoll) implements IoHandler {
        @Override
        public void initialize() {
            epoll.initialize();
        }

        @Override
        public int run(IoHandlerContext context) {
            return epoll.run(context);
        }

        @Override
        public void prepareToDestroy() {
            epoll.prepareToDestroy();
        }

        @Override
        public void destroy() {
            epoll.destroy();
        }

        @Override
        public IoRegistration register(IoHandle handle) throws Exception {
            return new Registration(epoll.register(handle));
        }

        @Override
        public void wakeup() {
            epoll.wakeup();
        }

        @Override
        public boolean isCompatible(Class<? extends IoHandle> handleType) {
            return epoll.isCompatible(handleType);
        }
    }

    private record Registration(IoRegistration epoll) implements IoRegistration {
        @Override
        public <T> T attachment() {
            return epoll.attachment();
        }

        @Override
        public long submit(IoOps ops) {
            return epoll.submit(neverEmpty(ops));
        }

        @Override
        public boolean isValid() {
            return epoll.isValid();
        }

        @Override
        public boolean cancel() {
            return epoll.cancel();
        }
    }
}
