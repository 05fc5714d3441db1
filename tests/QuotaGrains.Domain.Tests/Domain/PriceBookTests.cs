using QuotaGrains.Domain.Pricing;

namespace QuotaGrains.Tests.Domain;

public sealed class PriceBookTests
{
    private readonly PriceBook _book = PriceBook.Default;

    [Theory]
    [InlineData("ai-shadows", MediaKind.Image, ResolutionTier.Standard, 1)]
    [InlineData("ai-shadows", MediaKind.Image, ResolutionTier.Hd, 2)]
    [InlineData("ai-shadows", MediaKind.Image, ResolutionTier.FourK, 4)]
    [InlineData("ai-backgrounds", MediaKind.Image, ResolutionTier.Standard, 1)]
    [InlineData("virtual-model", MediaKind.Image, ResolutionTier.Standard, 4)]
    [InlineData("virtual-model", MediaKind.Image, ResolutionTier.Hd, 8)]
    [InlineData("ghost-mannequin", MediaKind.Image, ResolutionTier.Standard, 4)]
    [InlineData("edit-with-ai", MediaKind.Image, ResolutionTier.Standard, 4)]
    [InlineData("recolor", MediaKind.Image, ResolutionTier.Standard, 4)]
    [InlineData("recolor", MediaKind.Image, ResolutionTier.FourK, 16)]
    [InlineData("ai-video", MediaKind.Video, ResolutionTier.Standard, 20)]
    [InlineData("ai-video", MediaKind.Video, ResolutionTier.Hd, 40)]
    [InlineData("virtual-model", MediaKind.Video, ResolutionTier.FourK, 80)]
    [InlineData("edit-with-ai", MediaKind.Video, ResolutionTier.Standard, 20)]
    public void Default_prices_follow_the_domain(string feature, MediaKind media, ResolutionTier tier, long expected)
    {
        var quote = _book.Price(new GenerationSpec(feature, media, tier));

        Assert.True(quote.Succeeded);
        Assert.Null(quote.Rejection);
        Assert.False(quote.IsFree);
        Assert.Equal(expected, quote.UnitCredits);
    }

    [Theory]
    [InlineData("white-background", MediaKind.Image, ResolutionTier.Standard)]
    [InlineData("template", MediaKind.Image, ResolutionTier.Hd)]
    [InlineData("background-removal", MediaKind.Image, ResolutionTier.FourK)]
    [InlineData("background-removal", MediaKind.Video, ResolutionTier.Standard)]
    public void Free_features_cost_nothing(string feature, MediaKind media, ResolutionTier tier)
    {
        var quote = _book.Price(new GenerationSpec(feature, media, tier));

        Assert.True(quote.Succeeded);
        Assert.True(quote.IsFree);
        Assert.Equal(0, quote.UnitCredits);
    }

    [Fact]
    public void Unknown_feature_is_rejected_as_unknown_feature()
    {
        var quote = _book.Price(new GenerationSpec("teleportation"));

        Assert.False(quote.Succeeded);
        Assert.Equal(RejectionCode.UnknownFeature, quote.Rejection!.Code);
        Assert.Equal(0, quote.UnitCredits);
        Assert.False(quote.IsFree);
    }

    [Theory]
    [InlineData("ai-shadows")]
    [InlineData("recolor")]
    [InlineData("ghost-mannequin")]
    public void Feature_without_a_video_price_is_unknown_for_video(string feature)
    {
        var quote = _book.Price(new GenerationSpec(feature, MediaKind.Video));

        Assert.Equal(RejectionCode.UnknownFeature, quote.Rejection?.Code);
    }

    [Fact]
    public void Video_only_feature_has_no_image_price()
    {
        var quote = _book.Price(new GenerationSpec("ai-video", MediaKind.Image));

        Assert.Equal(RejectionCode.UnknownFeature, quote.Rejection?.Code);
    }

    [Fact]
    public void Undefined_resolution_tier_is_unknown_resolution()
    {
        var quote = _book.Price(new GenerationSpec("ai-shadows", MediaKind.Image, (ResolutionTier)42));

        Assert.Equal(RejectionCode.UnknownResolution, quote.Rejection?.Code);
        Assert.Equal(0, quote.UnitCredits);
    }

    [Fact]
    public void Undefined_media_kind_is_an_invalid_request()
    {
        var quote = _book.Price(new GenerationSpec("virtual-model", (MediaKind)7));

        Assert.Equal(RejectionCode.InvalidRequest, quote.Rejection?.Code);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void Empty_feature_is_an_invalid_request(string feature)
    {
        var quote = _book.Price(new GenerationSpec(feature));

        Assert.Equal(RejectionCode.InvalidRequest, quote.Rejection?.Code);
    }

    [Fact]
    public void Missing_spec_is_an_invalid_request()
    {
        var quote = _book.Price(null!);

        Assert.Equal(RejectionCode.InvalidRequest, quote.Rejection?.Code);
    }

    [Theory]
    [InlineData("AI-SHADOWS", 1)]
    [InlineData("Ai-Shadows", 1)]
    [InlineData("Virtual-Model", 4)]
    [InlineData("RECOLOR", 4)]
    public void Feature_names_are_case_insensitive(string feature, long expected)
    {
        var quote = _book.Price(new GenerationSpec(feature));

        Assert.True(quote.Succeeded);
        Assert.Equal(expected, quote.UnitCredits);
    }

    [Fact]
    public void Free_feature_names_are_case_insensitive()
    {
        var quote = _book.Price(new GenerationSpec("White-Background"));

        Assert.True(quote.IsFree);
        Assert.True(quote.Succeeded);
    }

    [Fact]
    public void Default_book_lists_every_default_feature()
    {
        Assert.Equal(
            ["ai-backgrounds", "ai-shadows", "ai-video", "background-removal", "edit-with-ai", "ghost-mannequin", "recolor", "template", "virtual-model", "white-background"],
            _book.Features.Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public void Default_options_validate_cleanly()
    {
        Assert.Empty(PriceBook.Validate(PriceBookOptions.CreateDefault()));
    }

    [Fact]
    public void Missing_tier_multiplier_is_refused()
    {
        var options = PriceBookOptions.CreateDefault();
        options.ResolutionMultipliers.Remove(ResolutionTier.Hd);

        var error = Assert.Throws<ArgumentException>(() => new PriceBook(options));
        Assert.Contains("Hd", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Free_and_priced_feature_is_refused()
    {
        var options = PriceBookOptions.CreateDefault();
        options.Features["template"] = new FeaturePriceOptions { Free = true, Image = 1 };

        Assert.Throws<ArgumentException>(() => new PriceBook(options));
    }

    [Fact]
    public void Feature_neither_free_nor_priced_is_refused()
    {
        var options = PriceBookOptions.CreateDefault();
        options.Features["nothing"] = new FeaturePriceOptions();

        Assert.Throws<ArgumentException>(() => new PriceBook(options));
    }

    [Theory]
    [InlineData(-1, null)]
    [InlineData(0, null)]
    [InlineData(null, -5)]
    [InlineData(4, 0)]
    public void Non_positive_price_is_refused(int? image, int? video)
    {
        var options = PriceBookOptions.CreateDefault();
        options.Features["bad"] = new FeaturePriceOptions { Image = image, Video = video };

        Assert.Throws<ArgumentException>(() => new PriceBook(options));
    }

    [Fact]
    public void Zero_multiplier_is_refused()
    {
        var options = PriceBookOptions.CreateDefault();
        options.ResolutionMultipliers[ResolutionTier.FourK] = 0;

        Assert.Throws<ArgumentException>(() => new PriceBook(options));
    }

    [Fact]
    public void Book_without_features_is_refused()
    {
        var options = PriceBookOptions.CreateDefault();
        options.Features.Clear();

        Assert.Throws<ArgumentException>(() => new PriceBook(options));
    }

    [Fact]
    public void Custom_book_prices_with_its_own_multipliers()
    {
        var options = new PriceBookOptions
        {
            Features = new(StringComparer.OrdinalIgnoreCase) { ["x"] = new FeaturePriceOptions { Image = 3, Video = 7 } },
            ResolutionMultipliers = new()
            {
                [ResolutionTier.Standard] = 1,
                [ResolutionTier.Hd] = 3,
                [ResolutionTier.FourK] = 10,
            },
        };
        var book = new PriceBook(options);

        Assert.Equal(9, book.Price(new GenerationSpec("x", MediaKind.Image, ResolutionTier.Hd)).UnitCredits);
        Assert.Equal(70, book.Price(new GenerationSpec("X", MediaKind.Video, ResolutionTier.FourK)).UnitCredits);
        Assert.Equal(RejectionCode.UnknownFeature, book.Price(new GenerationSpec("ai-shadows")).Rejection?.Code);
    }
}
