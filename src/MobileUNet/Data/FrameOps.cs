namespace MobileUNet.Data;

/// <summary>
/// Resampling between a photo or video frame and the model's S x S grid, on plain interleaved buffers so image
/// files (SkiaSharp) and video frames (ffmpeg rawvideo) share one path. Bilinear with half-pixel centres, the
/// convention of the model's own bilinear resize (align_corners = false).
/// </summary>
public static class FrameOps
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
        float sx = (float)srcWidth / dstWidth, sy = (float)srcHeight / dstHeight;
        for (int x = 0; x < dstWidth; x++) Sample(x, sx, srcWidth, out x0s[x], out x1s[x], out fxs[x]);
        for (int y = 0; y < dstHeight; y++)
        {
            Sample(y, sy, srcHeight, out int y0, out int y1, out float fy);
            var row0 = src.Slice(y0 * srcWidth, srcWidth);
            var row1 = src.Slice(y1 * srcWidth, srcWidth);
            var outRow = dst.Slice(y * dstWidth, dstWidth);
            for (int x = 0; x < dstWidth; x++)
            {
                int x0 = x0s[x], x1 = x1s[x];
                // Blend the rows first: one vertical lerp per source column pair, then one horizontal lerp.
                float left = row0[x0] + (row1[x0] - row0[x0]) * fy;
                float right = row0[x1] + (row1[x1] - row0[x1]) * fy;
                outRow[x] = left + (right - left) * fxs[x];
            }
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
