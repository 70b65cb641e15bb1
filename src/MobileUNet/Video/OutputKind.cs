namespace MobileUNet.Video;

/// <summary>What the output video shows.</summary>
public enum OutputKind
{
    /// <summary>The binary mask: white foreground, black background.</summary>
    Mask,
    /// <summary>The frame with the foreground tinted.</summary>
    Overlay,
    /// <summary>The soft alpha matte: probability as grey level.</summary>
    Matte,
    /// <summary>The foreground kept, the background replaced (blur, a colour or an image).</summary>
    Background,
}

public enum BackgroundKind { Blur, Color, Image }

/// <summary>How the background is replaced: <c>blur</c>, <c>blur:15</c>, <c>color:#00ff00</c>, <c>image:path.png</c>.</summary>
public sealed record BackgroundSpec(BackgroundKind Kind, int BlurRadius = 12, byte R = 0, byte G = 177, byte B = 64, string? ImagePath = null)
{
    public static BackgroundSpec Parse(string text)
    {
        var (head, arg) = text.IndexOf(':') is var i and >= 0 ? (text[..i], text[(i + 1)..]) : (text, "");
        switch (head.ToLowerInvariant())
        {
            case "blur":
                if (arg.Length == 0) return new BackgroundSpec(BackgroundKind.Blur);
                if (int.TryParse(arg, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var r) && r is > 0 and <= 200)
                    return new BackgroundSpec(BackgroundKind.Blur, BlurRadius: r);
                break;
            case "color":
                var hex = arg.TrimStart('#');
                if (hex.Length == 6 && int.TryParse(hex, System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture, out var rgb))
                    return new BackgroundSpec(BackgroundKind.Color, R: (byte)(rgb >> 16), G: (byte)(rgb >> 8), B: (byte)rgb);
                break;
            case "image":
                if (arg.Length == 0) break;
                if (!File.Exists(arg)) throw new FileNotFoundException($"background image {arg}: no such file", arg);
                return new BackgroundSpec(BackgroundKind.Image, ImagePath: arg);
        }
        throw new ArgumentException($"background '{text}': expected blur[:RADIUS], color:#RRGGBB or image:PATH");
    }
}
