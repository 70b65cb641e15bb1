using System.Runtime.InteropServices;

namespace MobileUNet.Batch;

/// <summary>
/// A photo-sized buffer in native memory, freed the moment its photo is done. A 12 MP photo is 48 MB of RGBA;
/// as managed arrays such buffers land on the large-object heap and stay resident until a full collection, so a
/// run's RSS would follow the garbage collector rather than the photos in flight. Native blocks this large are
/// mmap'ed by the C allocator and unmapped on free.
/// </summary>
internal sealed unsafe class NativeBuffer : IDisposable
{
    byte* pointer;

    public NativeBuffer(long length)
    {
        if (length is <= 0 or > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(length), length, "buffer length must be 1 .. 2^31-1 bytes");
        Length = (int)length;
        pointer = (byte*)NativeMemory.Alloc((nuint)length);
    }

    public int Length { get; }
    public IntPtr Pointer => pointer != null ? (IntPtr)pointer : throw new ObjectDisposedException(nameof(NativeBuffer));
    public Span<byte> Span => new((void*)Pointer, Length);

    public void Dispose()
    {
        if (pointer == null) return;
        NativeMemory.Free(pointer);
        pointer = null;
    }
}

/// <summary>
/// Bytes of photo buffers allowed in flight at once. Decoding a photo first reserves what all its buffers will
/// need (read from the header, before any pixel exists) and waits while that would exceed the budget; the photo
/// gives it back when its outputs are written. So memory is bounded by the budget, whatever the number or the
/// size of the photos. A photo larger than the whole budget waits for an empty pipeline and then runs alone.
/// </summary>
internal sealed class MemoryBudget(long capacity)
{
    readonly object gate = new(); // Monitor.Wait/PulseAll need a monitor, not a System.Threading.Lock
    long used, peak;

    public long Capacity { get; } = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "the memory budget must be positive");
    public long Peak { get { lock (gate) return peak; } }

    /// <summary>Waits for <paramref name="bytes"/> (at most the capacity); returns what was reserved, for <see cref="Release"/>.</summary>
    public long Acquire(long bytes, CancellationToken cancel)
    {
        long n = Math.Clamp(bytes, 0, Capacity);
        lock (gate)
        {
            while (used + n > Capacity)
            {
                cancel.ThrowIfCancellationRequested();
                Monitor.Wait(gate, 100);
            }
            used += n;
            peak = Math.Max(peak, used);
        }
        return n;
    }

    public void Release(long bytes)
    {
        lock (gate)
        {
            used -= bytes;
            Monitor.PulseAll(gate);
        }
    }
}
