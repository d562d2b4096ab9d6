package lobby

// StopAccepting starts a graceful drain: every later Create, Join and
// QuickJoin fails with ErrClosed, while the rooms already open run on until
// they empty or Close closes them.
func (l *Lobby) StopAccepting() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
}
