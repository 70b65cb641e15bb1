using System.Runtime.InteropServices;
using MobileUNet.Data;
using Microsoft.AspNetCore.Http;
using SkiaSharp;

namespace MobileUNet.Serve;

/// <summary>A request refused with an HTTP status and a one-line reason.</summary>
sealed class ServeError(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}

/// <summary>
/// The edges of a segment request: the encoded image out of the body (raw bytes or multipart field
/// <c>image</c>, never more than the body limit), the format check by signature, and PNG encoding of answers.
/// </summary>
static class ImageRequest
{
    public const string FormField = "image";
    public const string Formats = "PNG, JPEG, WebP, GIF, BMP, PPM/PGM";

    public static async Task<byte[]> ReadAsync(HttpRequest request, long maxBytes, CancellationToken cancellation)
    {
        if (request.ContentLength > maxBytes) throw TooLarge(request.ContentLength.Value, maxBytes);
        try
        {
            // Only multipart is a form here: curl --data-binary labels raw bytes x-www-form-urlencoded.
            if (request.ContentType?.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase) == true)
            {
                var form = await request.ReadFormAsync(cancellation).ConfigureAwait(false);
                var file = form.Files.GetFile(FormField)
                           ?? throw new ServeError(StatusCodes.Status400BadRequest, $"multipart body has no file field '{FormField}'.");
                if (file.Length > maxBytes) throw TooLarge(file.Length, maxBytes);
                var bytes = new byte[file.Length];
                await using var stream = file.OpenReadStream();
                await stream.ReadExactlyAsync(bytes, cancellation).ConfigureAwait(false);
                return bytes;
            }
            var raw = await ReadCappedAsync(request.Body, request.ContentLength, maxBytes, cancellation).ConfigureAwait(false);
            if (raw.Length == 0)
                throw new ServeError(StatusCodes.Status400BadRequest, $"empty body: send an image ({Formats}) as the body or as multipart field '{FormField}'.");
            return raw;
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new ServeError(StatusCodes.Status413PayloadTooLarge, $"request body is over the {maxBytes:N0}-byte limit.");
        }
        catch (InvalidDataException e) when (e.Message.Contains("limit", StringComparison.OrdinalIgnoreCase))
        {
            // The form reader's own limits (FormOptions.MultipartBodyLengthLimit) surface this way.
            throw new ServeError(StatusCodes.Status413PayloadTooLarge, $"multipart body is over the {maxBytes:N0}-byte limit.");
        }
        catch (InvalidDataException e)
        {
            throw new ServeError(StatusCodes.Status400BadRequest, $"malformed multipart body ({e.Message.ReplaceLineEndings(" ")}).");
        }
    }

    /// <summary>Reads a raw body, stopping one byte past the limit (the server's own limit may be off, e.g. in-process).</summary>
    internal static async Task<byte[]> ReadCappedAsync(Stream body, long? declared, long maxBytes, CancellationToken cancellation)
    {
        using var buffer = new MemoryStream(declared is > 0 and var n ? (int)Math.Min(n, maxBytes) : 64 * 1024);
        var chunk = new byte[81920];
        while (true)
        {
            int read = await body.ReadAsync(chunk, cancellation).ConfigureAwait(false);
            if (read == 0) break;
            buffer.Write(chunk, 0, read);
            if (buffer.Length > maxBytes) throw TooLarge(null, maxBytes);
        }
        return buffer.ToArray();
    }

    internal static ServeError TooLarge(long? size, long maxBytes) => new(StatusCodes.Status413PayloadTooLarge,
        size is { } n ? $"request body is {n:N0} bytes, over the {maxBytes:N0}-byte limit." : $"request body is over the {maxBytes:N0}-byte limit.");

    /// <summary>The format by its signature: anything but a format the reader decodes is 415, before any decoding.</summary>
    public static void CheckFormat(ReadOnlySpan<byte> bytes)
    {
        bool known =
            bytes.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G'])
            || bytes.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF])
            || bytes.StartsWith("GIF8"u8)
            || bytes.Length >= 12 && bytes.StartsWith("RIFF"u8) && bytes[8..12].SequenceEqual("WEBP"u8)
            || bytes.StartsWith("BM"u8)
            || bytes.Length >= 2 && bytes[0] == (byte)'P' && bytes[1] is (byte)'2' or (byte)'3' or (byte)'5' or (byte)'6';
        if (!known)
            throw new ServeError(StatusCodes.Status415UnsupportedMediaType, $"not an image format this service reads ({Formats}).");
    }

    /// <summary>
    /// Decodes with the library's reader: pixel count checked from the header first (413), broken data 422. With
    /// <paramref name="minSide"/> above 0 a JPEG may come back reduced to no less than that a side (the photo's size
    /// beside it): an answer that needs only the model's input and the photo's size skips most of the decode.
    /// </summary>
    public static ReducedImage Decode(byte[] bytes, ImageLimits limits, int minSide = 0)
    {
        CheckFormat(bytes);
        try { return ImageFile.DecodeAtLeast(bytes, "image", minSide, limits); }
        catch (ImageTooLargeException e) { throw new ServeError(StatusCodes.Status413PayloadTooLarge, OneLine(e.Message)); }
        catch (InvalidDataException e) { throw new ServeError(StatusCodes.Status422UnprocessableEntity, OneLine(e.Message)); }
    }

    static string OneLine(string message) => message.Replace(" (raise it with --max-pixels)", "", StringComparison.Ordinal).ReplaceLineEndings(" ");

    /// <summary>A 0/255 grey PNG.</summary>
    public static byte[] GreyPng(int width, int height, byte[] grey) =>
        EncodePng(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque), grey);

    /// <summary>An RGBA PNG (straight alpha).</summary>
    public static byte[] RgbaPng(int width, int height, byte[] rgba) =>
        EncodePng(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul), rgba);

    static byte[] EncodePng(SKImageInfo info, byte[] pixels)
    {
        var handle = GCHandle.Alloc(pixels, GCHandleType.Pinned);
        try
        {
            using var pixmap = new SKPixmap(info, handle.AddrOfPinnedObject(), info.RowBytes);
            // zlib level 1 with the Sub filter: an answer is encoded once and sent once; higher levels cost more time than bytes saved on masks.
            using var encoded = pixmap.Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.Sub, 1))
                                ?? throw new InvalidOperationException("PNG encoding failed.");
            return encoded.ToArray();
        }
        finally { handle.Free(); }
    }
}
