namespace MobileUNet.Data;

/// <summary>
/// Resampling between a photo or video frame and the model's S x S grid, on plain interleaved buffers so image
/// files (SkiaSharp) and video frames (ffmpeg rawvideo) share one path. Bilinear with half-pixel centres, the
/// convention of the model's own bilinear resize (align_corners = false).
/// </summary>
internal static class FrameOps
{
    /// <summary>Resizes interleaved 8-bit pixels (any channel count) with bilinear filtering.</summary>
    public static void ResizeBilinear(ReadOnlySpan<byte> src, int srcWidth, int srcHeight, int channels,
                                      Span<byte> dst, int dstWidth, int dstHeight)
    {
        float sx = (float)srcWidth / dstWidth, sy = (float)srcHeight / dstHeight;
        for (int y = 0; y < dstHeight; y++)
        {
            Sample(y, sy, srcHeight, out int y0, out int y1, out float fy);
            var row0 = src.Slice(y0 * srcWidth * channels, srcWidth * channels);
            var row1 = src.Slice(y1 * srcWidth * channels, srcWidth * channels);
            var outRow = dst.Slice(y * dstWidth * channels, dstWidth * channels);
            for (int x = 0; x < dstWidth; x++)
            {
                Sample(x, sx, srcWidth, out int x0, out int x1, out float fx);
                for (int c = 0; c < channels; c++)
                {
                    float top = row0[x0 * channels + c] + (row0[x1 * channels + c] - row0[x0 * channels + c]) * fx;
                    float bottom = row1[x0 * channels + c] + (row1[x1 * channels + c] - row1[x0 * channels + c]) * fx;
                    outRow[x * channels + c] = (byte)(top + (bottom - top) * fy + 0.5f);
                }
            }
        }
    }

    /// <summary>Resizes a single float plane (e.g. S x S probabilities back to the frame size) with bilinear filtering.</summary>
    public static void ResizeBilinear(ReadOnlySpan<float> src, int srcWidth, int srcHeight,
                                      Span<float> dst, int dstWidth, int dstHeight)
    {
        // The column taps are the same for every row: work them out once per call (on the stack for frame-sized
        // widths, so the per-frame path allocates nothing) instead of once per pixel.
        const int StackLimit = 4096;
        Span<int> x0s = dstWidth <= StackLimit ? stackalloc int[dstWidth] : new int[dstWidth];
        Span<int> x1s = dstWidth <= StackLimit ? stackalloc int[dstWidth] : new int[dstWidth];
        Span<float> fxs = dstWidth <= StackLimit ? stackalloc float[dstWidth] : new float[dstWidth];
        ColumnTaps(srcWidth, x0s, x1s, fxs);
        float sy = (float)srcHeight / dstHeight;
        for (int y = 0; y < dstHeight; y++)
            ResizeRow(src, srcWidth, srcHeight, sy, y, x0s, x1s, fxs, dst.Slice(y * dstWidth, dstWidth));
    }

    /// <summary>For each output column, the two source columns it blends and the weight of the second.</summary>
    internal static void ColumnTaps(int srcWidth, Span<int> x0s, Span<int> x1s, Span<float> fxs)
    {
        float sx = (float)srcWidth / x0s.Length;
        for (int x = 0; x < x0s.Length; x++) Sample(x, sx, srcWidth, out x0s[x], out x1s[x], out fxs[x]);
    }

    /// <summary>Output row <paramref name="y"/> of a bilinear float-plane resize (<paramref name="sy"/> = source height / output height).</summary>
    internal static void ResizeRow(ReadOnlySpan<float> src, int srcWidth, int srcHeight, float sy, int y,
                                   ReadOnlySpan<int> x0s, ReadOnlySpan<int> x1s, ReadOnlySpan<float> fxs, Span<float> outRow)
    {
        Sample(y, sy, srcHeight, out int y0, out int y1, out float fy);
        var row0 = src.Slice(y0 * srcWidth, srcWidth);
        var row1 = src.Slice(y1 * srcWidth, srcWidth);
        for (int x = 0; x < outRow.Length; x++)
        {
            int x0 = x0s[x], x1 = x1s[x];
            // Blend the rows first: one vertical lerp per source column pair, then one horizontal lerp.
            float left = row0[x0] + (row1[x0] - row0[x0]) * fy;
            float right = row0[x1] + (row1[x1] - row0[x1]) * fy;
            outRow[x] = left + (right - left) * fxs[x];
        }
    }

    static void Sample(int index, float scale, int size, out int i0, out int i1, out float frac)
    {
        float pos = Math.Max((index + 0.5f) * scale - 0.5f, 0f);
        i0 = Math.Min((int)pos, size - 1);
        i1 = Math.Min(i0 + 1, size - 1);
        frac = pos - i0;
    }
}

/// <summary>
/// A float plane (the model's S x S probabilities) resized to a picture's size one output row at a time, the same
/// numbers as <see cref="FrameOps.ResizeBilinear(ReadOnlySpan{float}, int, int, Span{float}, int, int)"/>. The column
/// taps are worked out once per picture size: a video reuses them every frame, and a 12 MP photo's outputs are
/// drawn row by row with no full-size float map (48 MB).
/// </summary>
internal sealed class RowResampler
{
    readonly int[] x0s, x1s;
    readonly float[] fxs;
    readonly float[] row;
    readonly float sy;

    public RowResampler(int srcWidth, int srcHeight, int dstWidth, int dstHeight)
    {
        SourceWidth = srcWidth;
        SourceHeight = srcHeight;
        Width = dstWidth;
        Height = dstHeight;
        x0s = new int[dstWidth];
        x1s = new int[dstWidth];
        fxs = new float[dstWidth];
        row = new float[dstWidth];
        FrameOps.ColumnTaps(srcWidth, x0s, x1s, fxs);
        sy = (float)srcHeight / dstHeight;
    }

    public int SourceWidth { get; }
    public int SourceHeight { get; }
    public int Width { get; }
    public int Height { get; }

    /// <summary>Row <paramref name="y"/> of <paramref name="src"/> at the output size, in a buffer reused by the next call.</summary>
    public ReadOnlySpan<float> Row(ReadOnlySpan<float> src, int y)
    {
        FrameOps.ResizeRow(src, SourceWidth, SourceHeight, sy, y, x0s, x1s, fxs, row);
        return row;
    }
}
