namespace MobileUNet.Batch;

/// <summary>What predict writes for each photo (any combination).</summary>
[Flags]
public enum PhotoOutputKind
{
    None = 0,
    /// <summary><c>KEY.mask.png</c>: grey PNG, 255 foreground, 0 background (probability &gt;= threshold).</summary>
    Mask = 1,
    /// <summary><c>KEY.cutout.png</c> or <c>.webp</c>: the photo with the soft matte as its alpha (RGBA).</summary>
    Cutout = 2,
    /// <summary><c>KEY.matte.png</c>: grey PNG, probability x 255.</summary>
    Matte = 4,
    /// <summary><c>KEY.overlay.png</c>: the photo with the foreground tinted, opaque.</summary>
    Overlay = 8,
    /// <summary><c>KEY.json</c>: size, foreground fraction and the foreground's bounding box.</summary>
    Json = 16,
}

public enum CutoutFormat { Png, Webp }

/// <summary>Parsing and naming of the output kinds.</summary>
internal static class PhotoOutputs
{
    /// <summary>Today's default: mask and overlay.</summary>
    public const PhotoOutputKind Default = PhotoOutputKind.Mask | PhotoOutputKind.Overlay;

    public static IEnumerable<PhotoOutputKind> Each(PhotoOutputKind kinds) =>
        Enum.GetValues<PhotoOutputKind>().Where(k => k != PhotoOutputKind.None && kinds.HasFlag(k));

    /// <summary><c>mask,overlay</c>, <c>cutout</c>, ...: comma separated, case-insensitive.</summary>
    public static PhotoOutputKind Parse(string text)
    {
        var kinds = PhotoOutputKind.None;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Enum.TryParse<PhotoOutputKind>(part, ignoreCase: true, out var kind) || kind == PhotoOutputKind.None || !Enum.IsDefined(kind) || char.IsDigit(part[0]))
                throw new ArgumentException($"output kind '{part}': expected mask, cutout, matte, overlay or json (comma separated).");
            kinds |= kind;
        }
        return kinds != PhotoOutputKind.None ? kinds : throw new ArgumentException("output kinds: name at least one of mask, cutout, matte, overlay, json.");
    }

    public static string Name(PhotoOutputKind kind) => kind.ToString().ToLowerInvariant();

    /// <summary>The file name, relative to the output folder, of one kind of output of the photo with key <paramref name="key"/>.</summary>
    public static string RelativePath(string key, PhotoOutputKind kind, CutoutFormat cutout = CutoutFormat.Png) => kind switch
    {
        PhotoOutputKind.Json => key + ".json",
        PhotoOutputKind.Cutout => key + ".cutout." + (cutout == CutoutFormat.Webp ? "webp" : "png"),
        _ => key + "." + Name(kind) + ".png",
    };
}
