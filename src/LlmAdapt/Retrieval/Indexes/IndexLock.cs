namespace LlmAdapt.Retrieval.Indexes;

/// <summary>
/// The reader–writer lock of an index: many searches at once, one writer alone. <c>using (_lock.Read())</c> and
/// <c>using (_lock.Write())</c> hold it for a block.
/// </summary>
internal sealed class IndexLock : IDisposable
{
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);

    /// <summary>Takes the lock for reading until the returned scope is disposed.</summary>
    public Scope Read()
    {
        _lock.EnterReadLock();
        return new Scope(_lock, write: false);
    }

    /// <summary>Takes the lock for writing until the returned scope is disposed.</summary>
    public Scope Write()
    {
        _lock.EnterWriteLock();
        return new Scope(_lock, write: true);
    }

    /// <inheritdoc />
    public void Dispose() => _lock.Dispose();

    /// <summary>Releases the lock when disposed.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly ReaderWriterLockSlim _lock;
        private readonly bool _write;

        internal Scope(ReaderWriterLockSlim @lock, bool write)
        {
            _lock = @lock;
            _write = write;
        }

        /// <inheritdoc />
        public void Dispose()
        {
            if (_write)
            {
                _lock.ExitWriteLock();
            }
            else
            {
                _lock.ExitReadLock();
            }
        }
    }
}
