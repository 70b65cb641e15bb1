using System.Threading.Channels;

namespace MobileUNet.Video;

/// <summary>
/// One frame's buffers for every stage: the decoded RGB (composed in place into the output), the model-size RGB
/// (the segmenter normalises it into its own input), and the model's probabilities, raw and smoothed (resampled
/// to the frame's size a row at a time while composing). Pooled and reused.
/// </summary>
internal sealed class VideoFrame
{
    public VideoFrame(int width, int height, int inputSize)
    {
        Rgb = new byte[width * height * 3];
        Small = new byte[inputSize * inputSize * 3];
        Probabilities = new float[inputSize * inputSize];
        Smoothed = new float[inputSize * inputSize];
    }

    public long Index { get; set; }
    public byte[] Rgb { get; }
    public byte[] Small { get; }
    public float[] Probabilities { get; }
    public float[] Smoothed { get; }
}

/// <summary>
/// A fixed set of frames, all made up front. Taking a frame waits while every frame is in flight, which is what
/// stops a fast decoder from running ahead of a slow encoder: memory is bounded by the pool, never by the input.
/// </summary>
internal sealed class FramePool
{
    readonly Channel<VideoFrame> free;

    public FramePool(int size, Func<VideoFrame> create)
    {
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "pool size must be at least 1");
        Size = size;
        free = Channel.CreateBounded<VideoFrame>(size);
        for (int i = 0; i < size; i++) free.Writer.TryWrite(create());
    }

    public int Size { get; }

    /// <summary>Frames not in flight right now.</summary>
    public int Available => free.Reader.Count;

    public ValueTask<VideoFrame> TakeAsync(CancellationToken token) => free.Reader.ReadAsync(token);

    public void Return(VideoFrame frame)
    {
        if (!free.Writer.TryWrite(frame)) throw new InvalidOperationException("a frame was returned to the pool twice");
    }
}
