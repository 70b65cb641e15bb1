namespace MobileUNet.Video;

/// <summary>A producer of RGB24 frames (width x height x 3 bytes, row-major), e.g. an ffmpeg decoder.</summary>
internal interface IFrameSource
{
    int Width { get; }
    int Height { get; }

    /// <summary>Fills <paramref name="rgb"/> with the next frame; false at the end of the input.</summary>
    bool ReadFrame(Span<byte> rgb);
}

/// <summary>A consumer of RGB24 frames in order, e.g. an ffmpeg encoder.</summary>
internal interface IFrameSink
{
    void WriteFrame(ReadOnlySpan<byte> rgb, long index);
}
